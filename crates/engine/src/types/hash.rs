//! Hash commands, as Redis 7.0's `t_hash.c`: HSET/HMSET/HSETNX, HGET/HMGET/HGETALL/HKEYS/HVALS,
//! HDEL, HLEN, HEXISTS, HSTRLEN, HINCRBY/HINCRBYFLOAT, HRANDFIELD and HSCAN.
//!
//! # Representation
//! - [`Value::HashLp`]: an [`Lp`] holding field, value, field, value... in insertion order (a
//!   changed value keeps its place, a deleted pair closes the gap), as Redis's listpack does, so
//!   HGETALL and friends answer in Redis's order. Canonical integers are stored as integers. One
//!   allocation per hash, one reallocation per change.
//! - [`Value::Hash`]: a [`BigHash`]: [`HashItem`]s (field and value, each a [`SmallBytes`]:
//!   inline up to 22 bytes) in a `KeyedPool` (a pool, and a table of their 4-byte numbers), with a
//!   running count of the heap bytes the items own so that `heap_size` costs no walk. Items in
//!   the table itself cost 48 bytes per slot at the table's load of about one half; numbers cost
//!   4 (BENCHMARKS.md: 117 to 64 bytes of RSS per field of a big hash; Redis 116).
//!
//! A hash starts as a listpack and becomes a `BigHash` once, for good, when a write would leave it
//! with more than `hash-max-listpack-entries` fields, or sets a field or value longer than
//! `hash-max-listpack-value` bytes (Redis's `hashTypeTryConversion` / `hashTypeSet` checks,
//! which also apply to HINCRBY and HINCRBYFLOAT results). It never goes back.
//!
//! Invariants: a hash key never holds zero fields (HDEL of the last field deletes the key); every
//! argument is validated before anything changes, and errors come in Redis's order (HINCRBY and
//! HINCRBYFLOAT check the increment before the key's type; HRANDFIELD checks its count before it
//! looks the key up; HSCAN checks its cursor before the key and its options after).
//!
//! HINCRBYFLOAT is propagated as `HSET key field <result>`, as Redis does, so replicas never redo
//! the float formatting.

use bytes::Bytes;
use rand::Rng;

use crate::cmd::{def, keys, CommandDef};
use crate::config::EncodingLimits;
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::lp::{Lp, LpVal, Needle};
use crate::notify;
use crate::pool::KeyedPool;
use crate::segtable::SegItem;
use crate::small::SmallBytes;
use crate::util::{glob_match, hincr_by_float, parse_hincr_increment, parse_i64};
use crate::value::Value;
use flint_protocol::ReplyWriter;

/// The hash commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("hset", -4, "write denyoom fast", keys(1, 1, 1), "@write @hash", "hash", "Set the string value of a hash field", "2.0.0", hset)
        .key_flags("RW update")
        .complexity("O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.")
        .history(&[("4.0.0", "Accepts multiple `field` and `value` arguments.")]),
    def("hsetnx", 4, "write denyoom fast", keys(1, 1, 1), "@write @hash", "hash", "Set the value of a hash field, only if the field does not exist", "2.0.0", hsetnx)
        .key_flags("RW insert")
        .complexity("O(1)"),
    def("hmset", -4, "write denyoom fast", keys(1, 1, 1), "@write @hash", "hash", "Set multiple hash fields to multiple values", "2.0.0", hset)
        .key_flags("RW update")
        .complexity("O(N) where N is the number of fields being set.")
        .deprecated("4.0.0", "`HSET` with multiple field-value pairs"),
    def("hget", 3, "readonly fast", keys(1, 1, 1), "@read @hash", "hash", "Get the value of a hash field", "2.0.0", hget)
        .key_flags("RO access")
        .complexity("O(1)"),
    def("hmget", -3, "readonly fast", keys(1, 1, 1), "@read @hash", "hash", "Get the values of all the given hash fields", "2.0.0", hmget)
        .key_flags("RO access")
        .complexity("O(N) where N is the number of fields being requested."),
    def("hgetall", 2, "readonly", keys(1, 1, 1), "@read @hash", "hash", "Get all the fields and values in a hash", "2.0.0", hgetall)
        .key_flags("RO access")
        .tips("nondeterministic_output_order")
        .complexity("O(N) where N is the size of the hash."),
    def("hdel", -3, "write fast", keys(1, 1, 1), "@write @hash", "hash", "Delete one or more hash fields", "2.0.0", hdel)
        .key_flags("RW delete")
        .complexity("O(N) where N is the number of fields to be removed.")
        .history(&[("2.4.0", "Accepts multiple `field` arguments.")]),
    def("hlen", 2, "readonly fast", keys(1, 1, 1), "@read @hash", "hash", "Get the number of fields in a hash", "2.0.0", hlen)
        .key_flags("RO")
        .complexity("O(1)"),
    def("hexists", 3, "readonly fast", keys(1, 1, 1), "@read @hash", "hash", "Determine if a hash field exists", "2.0.0", hexists)
        .key_flags("RO")
        .complexity("O(1)"),
    def("hkeys", 2, "readonly", keys(1, 1, 1), "@read @hash", "hash", "Get all the fields in a hash", "2.0.0", hkeys)
        .key_flags("RO access")
        .tips("nondeterministic_output_order")
        .complexity("O(N) where N is the size of the hash."),
    def("hvals", 2, "readonly", keys(1, 1, 1), "@read @hash", "hash", "Get all the values in a hash", "2.0.0", hvals)
        .key_flags("RO access")
        .tips("nondeterministic_output_order")
        .complexity("O(N) where N is the size of the hash."),
    def("hstrlen", 3, "readonly fast", keys(1, 1, 1), "@read @hash", "hash", "Get the length of the value of a hash field", "3.2.0", hstrlen)
        .key_flags("RO")
        .complexity("O(1)"),
    def("hincrby", 4, "write denyoom fast", keys(1, 1, 1), "@write @hash", "hash", "Increment the integer value of a hash field by the given number", "2.0.0", hincrby)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("hincrbyfloat", 4, "write denyoom fast", keys(1, 1, 1), "@write @hash", "hash", "Increment the float value of a hash field by the given amount", "2.6.0", hincrbyfloat)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("hrandfield", -2, "readonly", keys(1, 1, 1), "@read @hash", "hash", "Get one or multiple random fields from a hash", "6.2.0", hrandfield)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(N) where N is the number of fields returned"),
    def("hscan", -3, "readonly", keys(1, 1, 1), "@read @hash", "hash", "Incrementally iterate hash fields and associated values", "2.8.0", hscan)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

// ---------------------------------------------------------------------------------------------
// The big form.

/// One field of a [`BigHash`]: the field and its value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashItem {
    /// The field.
    pub field: SmallBytes,
    /// Its value.
    pub value: SmallBytes,
}

impl SegItem for HashItem {
    #[inline]
    fn key(&self) -> &[u8] {
        self.field.as_slice()
    }
}

/// A hash past the listpack limits: a `KeyedPool` of fields (see the module docs).
#[derive(Clone, Default)]
pub struct BigHash {
    table: KeyedPool<HashItem, 10>,
    /// Heap bytes owned by the items' fields and values (long ones only).
    heap: usize,
}

impl std::fmt::Debug for BigHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BigHash({} fields)", self.len())
    }
}

impl PartialEq for BigHash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .table
                .iter()
                .all(|x| other.get(x.field.as_slice()) == Some(x.value.as_slice()))
    }
}

impl BigHash {
    /// An empty hash with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        BigHash {
            table: KeyedPool::with_capacity(n),
            heap: 0,
        }
    }

    /// Number of fields.
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no fields.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Heap bytes owned: the table, the items, and the long fields and values.
    pub fn heap_size(&self) -> usize {
        self.table.bytes() + self.heap
    }

    /// The value of `field`.
    #[inline]
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.table.get(field).map(|x| x.value.as_slice())
    }

    /// Sets `field` to `value`; returns true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let value = SmallBytes::new(value);
        let add = value.heap_size();
        let (item, new) = self.table.get_or_insert_with(field, || HashItem {
            field: SmallBytes::new(field),
            value: SmallBytes::new(b""),
        });
        let (gone, field_heap) = (item.value.heap_size(), item.field.heap_size());
        item.value = value;
        self.heap = self.heap + add - gone + if new { field_heap } else { 0 };
        new
    }

    /// Removes `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.table.remove(field) {
            Some(x) => {
                self.heap -= x.field.heap_size() + x.value.heap_size();
                true
            }
            None => false,
        }
    }

    /// Every field, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = &HashItem> + '_ {
        self.table.iter()
    }

    /// A uniformly random field.
    pub fn random(&self, rng: &mut impl Rng) -> Option<&HashItem> {
        self.table.random(rng)
    }

    /// HSCAN over the table (see [`SegTable::scan_by`](crate::segtable::SegTable::scan_by)).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, f: impl FnMut(&'a HashItem)) -> u64 {
        self.table.scan(cursor, count, f)
    }
}

// ---------------------------------------------------------------------------------------------
// Both forms.

/// A read-only view of a hash value, whichever its encoding.
#[derive(Clone, Copy)]
pub(crate) enum HashRef<'a> {
    /// The listpack form.
    Lp(&'a Lp),
    /// The table form.
    Big(&'a BigHash),
}

impl<'a> HashRef<'a> {
    /// The view of `v`, if it is a hash.
    #[inline]
    pub fn of(v: &'a Value) -> Option<Self> {
        match v {
            Value::HashLp(lp) => Some(HashRef::Lp(lp)),
            Value::Hash(h) => Some(HashRef::Big(h)),
            _ => None,
        }
    }

    /// Number of fields.
    #[inline]
    pub fn len(self) -> usize {
        match self {
            HashRef::Lp(lp) => lp.len() / 2,
            HashRef::Big(h) => h.len(),
        }
    }

    /// The value of `field`.
    #[inline]
    pub fn get(self, field: &[u8]) -> Option<LpVal<'a>> {
        match self {
            HashRef::Lp(lp) => {
                let at = lp.find(&Needle::new(field), 2)?;
                let value_at = lp.get(at).1;
                Some(lp.get(value_at).0)
            }
            HashRef::Big(h) => h.get(field).map(LpVal::Str),
        }
    }

    /// Calls `f` with every field and value, in storage order.
    pub fn for_each(self, mut f: impl FnMut(LpVal<'a>, LpVal<'a>)) {
        match self {
            HashRef::Lp(lp) => {
                let mut it = lp.iter();
                while let (Some((_, k)), Some((_, v))) = (it.next(), it.next()) {
                    f(k, v);
                }
            }
            HashRef::Big(h) => {
                for x in h.iter() {
                    f(
                        LpVal::Str(x.field.as_slice()),
                        LpVal::Str(x.value.as_slice()),
                    );
                }
            }
        }
    }

    /// Every field and value, in storage order.
    pub fn pairs(self) -> Vec<(LpVal<'a>, LpVal<'a>)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|k, v| out.push((k, v)));
        out
    }
}

/// Whether `v` is a hash.
#[inline]
fn is_hash(v: &Value) -> bool {
    matches!(v, Value::HashLp(_) | Value::Hash(_))
}

/// Turns a listpack hash into a [`BigHash`] (nothing for other values).
fn convert(v: &mut Value) {
    if let Value::HashLp(lp) = v {
        let mut h = BigHash::with_capacity(lp.len() / 2);
        HashRef::Lp(lp).for_each(|k, val| {
            k.with_bytes(|k| val.with_bytes(|val| h.set(k, val)));
        });
        *v = Value::Hash(Box::new(h));
    }
}

/// Sets `field` to `value` in the hash `v`, converting it to the big form first when the value or
/// field is too long for a listpack, or after when it has too many fields. Returns true when the
/// field is new.
pub(crate) fn hash_set(v: &mut Value, field: &[u8], value: &[u8], lim: &EncodingLimits) -> bool {
    if matches!(v, Value::HashLp(_))
        && (field.len() > lim.hash_max_listpack_value || value.len() > lim.hash_max_listpack_value)
    {
        convert(v);
    }
    match v {
        Value::HashLp(lp) => {
            let new = match lp.find(&Needle::new(field), 2) {
                Some(at) => {
                    let value_at = lp.get(at).1;
                    lp.replace(value_at, LpVal::from_bytes(value));
                    false
                }
                None => {
                    lp.push(&[LpVal::from_bytes(field), LpVal::from_bytes(value)]);
                    true
                }
            };
            if lp.len() / 2 > lim.hash_max_listpack_entries {
                convert(v);
            }
            new
        }
        Value::Hash(h) => h.set(field, value),
        _ => false,
    }
}

/// Removes `field` from the hash `v`; returns whether it was there.
pub(crate) fn hash_del(v: &mut Value, field: &[u8]) -> bool {
    match v {
        Value::HashLp(lp) => match lp.find(&Needle::new(field), 2) {
            Some(at) => {
                lp.remove(at, 2);
                true
            }
            None => false,
        },
        Value::Hash(h) => h.remove(field),
        _ => false,
    }
}

/// Number of fields of the hash `v` (0 for other values).
fn hash_len(v: &Value) -> usize {
    HashRef::of(v).map_or(0, HashRef::len)
}

/// The hash at `key`: `None` when missing, WRONGTYPE when it is not a hash.
#[inline]
fn lookup<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<&'v mut Value>> {
    match db.get(key) {
        None => Ok(None),
        Some(v) if is_hash(v) => Ok(Some(v)),
        Some(_) => Err(Error::WrongType),
    }
}

/// A read-only view of the hash at `key`, `None` when missing.
#[inline]
fn lookup_ref<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<HashRef<'v>>> {
    Ok(lookup(db, key)?.and_then(|v| HashRef::of(v)))
}

/// Argument `i` (empty if absent, which the arity checks rule out).
#[inline]
fn arg<'a>(args: &[&'a [u8]], i: usize) -> &'a [u8] {
    args.get(i).copied().unwrap_or_default()
}

/// Writes `v` as a bulk string.
#[inline]
pub(crate) fn bulk_val(out: &mut ReplyWriter, v: LpVal<'_>) {
    match v {
        LpVal::Str(s) => out.bulk(s),
        LpVal::Int(n) => out.bulk_int(n),
        LpVal::F64(_) => v.with_bytes(|b| out.bulk(b)),
    }
}

/// Length in bytes of `v` as a string.
fn val_len(v: LpVal<'_>) -> usize {
    match v {
        LpVal::Str(s) => s.len(),
        _ => v.with_bytes(|b| b.len()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by HSCAN/SSCAN and the random-member commands.

/// The options of HSCAN/SSCAN (no TYPE: Redis accepts it only for SCAN).
pub(crate) struct ScanArgs<'a> {
    /// COUNT (default 10).
    pub count: usize,
    /// MATCH; `None` for none or `*`.
    pub pattern: Option<&'a [u8]>,
}

impl ScanArgs<'_> {
    /// Whether `member` passes MATCH.
    #[inline]
    pub fn matches(&self, member: LpVal<'_>) -> bool {
        match self.pattern {
            None => true,
            Some(p) => member.with_bytes(|b| glob_match(p, b, false)),
        }
    }
}

/// Parses the options of a collection SCAN from `args[3..]`, as Redis's `scanGenericCommand`.
pub(crate) fn parse_scan_args<'a>(args: &[&'a [u8]]) -> Result<ScanArgs<'a>> {
    let mut opts = ScanArgs {
        count: 10,
        pattern: None,
    };
    let mut i = 3;
    while i < args.len() {
        let (opt, has_value, value) = (arg(args, i), i + 1 < args.len(), arg(args, i + 1));
        if opt.eq_ignore_ascii_case(b"count") && has_value {
            let n = parse_i64(value).ok_or(Error::NotInteger)?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if opt.eq_ignore_ascii_case(b"match") && has_value {
            opts.pattern = (value != b"*").then_some(value);
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// The cursor argument of HSCAN/SSCAN.
pub(crate) fn parse_scan_cursor(a: &[u8]) -> Result<u64> {
    crate::keys::parse_cursor(a).ok_or(Error::msg("ERR invalid cursor"))
}

/// Writes the reply to a collection SCAN whose key is missing: cursor 0, nothing.
pub(crate) fn reply_empty_scan(out: &mut ReplyWriter) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}

/// The most members a negative count may ask HRANDFIELD / SRANDMEMBER for. Redis has no bound
/// but its memory (it builds the whole reply); Flint refuses counts whose reply alone would take
/// hundreds of megabytes rather than let one command exhaust the server.
pub(crate) const MAX_RANDOM_COUNT: u64 = 1 << 24;

/// The count of HRANDFIELD / SRANDMEMBER: an integer in `-LONG_MAX..=LONG_MAX`, as Redis 7.0's
/// `getRangeLongFromObjectOrReply`.
pub(crate) fn parse_random_count(a: &[u8]) -> Result<i64> {
    let n = parse_i64(a).ok_or(Error::NotInteger)?;
    if n == i64::MIN {
        return Err(Error::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// Checks a repeating (negative) count's size against [`MAX_RANDOM_COUNT`].
pub(crate) fn check_repeat_count(count: u64) -> Result<()> {
    if count > MAX_RANDOM_COUNT {
        return Err(Error::msg(format!(
            "ERR count is too large for a reply (at most {MAX_RANDOM_COUNT} elements with repetitions)"
        )));
    }
    Ok(())
}

/// `count` distinct indices below `len` (`0 < count < len`), as [`sample_distinct`] picks.
pub(crate) fn sample_indices(len: usize, count: usize) -> Vec<usize> {
    sample_distinct(
        len,
        count,
        || (0..len).collect(),
        |rng| Some(rng.gen_range(0..len)),
        |&i| i,
    )
}

/// Whether `picks` random picks (with repetitions) from a table of `len` members are cheaper
/// from a list of every member, made once, than one by one (each walks part of a segment).
#[inline]
pub(crate) fn many_picks(picks: usize, len: usize) -> bool {
    picks >= len / 512
}

/// Picks `count` distinct items among `len` (`0 < count < len`), each set of `count` equally
/// likely. `all` lists every item; `random` draws one uniformly; `id` tells items apart. When
/// `count` is a large part of `len`, takes a random prefix of a shuffle of `all` (Redis's
/// "copy and remove" case); else draws until enough distinct items came up.
pub(crate) fn sample_distinct<T: Copy>(
    len: usize,
    count: usize,
    all: impl FnOnce() -> Vec<T>,
    mut random: impl FnMut(&mut rand::rngs::ThreadRng) -> Option<T>,
    id: impl Fn(&T) -> usize,
) -> Vec<T> {
    let mut rng = rand::thread_rng();
    if count.saturating_mul(3) > len {
        let mut items = all();
        let n = items.len();
        let take = count.min(n);
        for i in 0..take {
            let j = rng.gen_range(i..n);
            items.swap(i, j);
        }
        items.truncate(take);
        return items;
    }
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let Some(x) = random(&mut rng) else { break };
        if seen.insert(id(&x)) {
            out.push(x);
        }
    }
    out
}

/// The listpack of a new hash holding the field/value `pairs` in one allocation, when they fit
/// the listpack limits and no field repeats (the usual HSET of a new key); `None` otherwise.
fn new_listpack(pairs: &[&[u8]], lim: &EncodingLimits) -> Option<Lp> {
    /// Beyond this many pairs, repeated fields are not looked for (the general path handles it).
    const QUICK_PAIRS: usize = 32;
    let n = pairs.len() / 2;
    let fits = n <= lim.hash_max_listpack_entries
        && n <= QUICK_PAIRS
        && pairs.len().is_multiple_of(2)
        && pairs.iter().all(|a| a.len() <= lim.hash_max_listpack_value);
    let distinct = || (1..n).all(|i| (0..i).all(|j| pairs[2 * i] != pairs[2 * j]));
    (fits && distinct()).then(|| Lp::from_vals_exact(pairs.iter().map(|a| LpVal::from_bytes(a))))
}

// ---------------------------------------------------------------------------------------------
// Commands.

// HSET key field value [field value ...]
// HMSET key field value [field value ...]
fn hset(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    if args.len() % 2 == 1 {
        return Err(Error::WrongArity(ctx.cmd.full_name.clone()));
    }
    let key = arg(args, 1);
    let lim = ctx.engine.config.encoding();
    let set_all = |v: &mut Value| {
        let mut created = 0i64;
        for pair in args[2..].chunks_exact(2) {
            created += i64::from(hash_set(v, pair[0], pair[1], &lim));
        }
        created
    };
    let created = lookup(&mut ctx.db, key)?.map(set_all);
    let created = match created {
        Some(n) => {
            ctx.db.modified(key);
            n
        }
        None => {
            let (v, n) = match new_listpack(&args[2..], &lim) {
                Some(lp) => (Value::HashLp(lp), (args.len() as i64 - 2) / 2),
                None => {
                    let mut v = Value::HashLp(Lp::new());
                    let n = set_all(&mut v);
                    (v, n)
                }
            };
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, v, 0);
            n
        }
    };
    ctx.notify(notify::HASH, "hset", key);
    if ctx.cmd.def.name == "hmset" {
        ctx.out.ok();
    } else {
        ctx.out.int(created);
    }
    Ok(())
}

// HSETNX key field value
fn hsetnx(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, field, value) = (arg(args, 1), arg(args, 2), arg(args, 3));
    let lim = ctx.engine.config.encoding();
    let set = match lookup(&mut ctx.db, key)? {
        Some(v) => {
            if HashRef::of(v).and_then(|h| h.get(field)).is_some() {
                false
            } else {
                hash_set(v, field, value, &lim);
                true
            }
        }
        None => {
            let mut v = Value::HashLp(Lp::new());
            hash_set(&mut v, field, value, &lim);
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, v, 0);
            ctx.notify(notify::HASH, "hset", key);
            ctx.out.int(1);
            return Ok(());
        }
    };
    if set {
        ctx.db.modified(key);
        ctx.notify(notify::HASH, "hset", key);
    }
    ctx.out.int(i64::from(set));
    Ok(())
}

// HGET key field
fn hget(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let found = lookup_ref(&mut ctx.db, arg(args, 1))?.and_then(|h| h.get(arg(args, 2)));
    match found {
        Some(v) => bulk_val(ctx.out, v),
        None => ctx.out.null(),
    }
    Ok(())
}

// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let h = lookup_ref(&mut ctx.db, arg(args, 1))?;
    let fields = &args[2..];
    ctx.out.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => bulk_val(ctx.out, v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// What HGETALL, HKEYS and HVALS send.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Both,
    Fields,
    Values,
}

fn get_all(ctx: &mut Ctx<'_>, part: Part) -> Result<()> {
    let h = lookup_ref(&mut ctx.db, arg(ctx.args, 1))?;
    let out = &mut *ctx.out;
    let len = h.map_or(0, HashRef::len);
    if part == Part::Both {
        out.map(len);
    } else {
        out.array(len);
    }
    if let Some(h) = h {
        h.for_each(|k, v| {
            if part != Part::Values {
                bulk_val(out, k);
            }
            if part != Part::Fields {
                bulk_val(out, v);
            }
        });
    }
    Ok(())
}

// HGETALL key
fn hgetall(ctx: &mut Ctx<'_>) -> Result<()> {
    get_all(ctx, Part::Both)
}

// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>) -> Result<()> {
    get_all(ctx, Part::Fields)
}

// HVALS key
fn hvals(ctx: &mut Ctx<'_>) -> Result<()> {
    get_all(ctx, Part::Values)
}

// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    let (deleted, emptied) = match lookup(&mut ctx.db, key)? {
        None => (0, false),
        Some(v) => {
            let mut deleted = 0i64;
            let mut emptied = false;
            for f in &args[2..] {
                if hash_del(v, f) {
                    deleted += 1;
                    if hash_len(v) == 0 {
                        emptied = true;
                        break;
                    }
                }
            }
            (deleted, emptied)
        }
    };
    if emptied {
        if let Some(e) = ctx.db.remove(key) {
            ctx.db.discard(e.value);
        }
    } else if deleted > 0 {
        ctx.db.modified(key);
    }
    if deleted > 0 {
        ctx.notify_removal(notify::HASH, "hdel", key, emptied);
    }
    ctx.out.int(deleted);
    Ok(())
}

// HLEN key
fn hlen(ctx: &mut Ctx<'_>) -> Result<()> {
    let n = lookup_ref(&mut ctx.db, arg(ctx.args, 1))?.map_or(0, HashRef::len);
    ctx.out.int(n as i64);
    Ok(())
}

// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let found = lookup_ref(&mut ctx.db, arg(args, 1))?.and_then(|h| h.get(arg(args, 2)));
    ctx.out.int(i64::from(found.is_some()));
    Ok(())
}

// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let found = lookup_ref(&mut ctx.db, arg(args, 1))?.and_then(|h| h.get(arg(args, 2)));
    ctx.out.int(found.map_or(0, val_len) as i64);
    Ok(())
}

// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, field) = (arg(args, 1), arg(args, 2));
    let incr = ctx.arg_i64(3)?;
    let lim = ctx.engine.config.encoding();
    let result = match lookup(&mut ctx.db, key)? {
        Some(v) => {
            let current = match HashRef::of(v).and_then(|h| h.get(field)) {
                None => 0,
                Some(LpVal::Int(n)) => n,
                Some(other) => other
                    .with_bytes(parse_i64)
                    .ok_or(Error::msg("ERR hash value is not an integer"))?,
            };
            let n = current.checked_add(incr).ok_or(Error::Overflow)?;
            hash_set(v, field, itoa::Buffer::new().format(n).as_bytes(), &lim);
            Some(n)
        }
        None => None,
    };
    let n = match result {
        Some(n) => {
            ctx.db.modified(key);
            n
        }
        None => {
            let mut v = Value::HashLp(Lp::new());
            hash_set(
                &mut v,
                field,
                itoa::Buffer::new().format(incr).as_bytes(),
                &lim,
            );
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, v, 0);
            incr
        }
    };
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.out.int(n);
    Ok(())
}

// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, field, by) = (arg(args, 1), arg(args, 2), arg(args, 3));
    let float_err = |e: crate::util::FloatError| Error::msg(e.message());
    // The increment is checked before the key's type, as Redis does.
    parse_hincr_increment(by).map_err(float_err)?;
    let lim = ctx.engine.config.encoding();
    let result = match lookup(&mut ctx.db, key)? {
        Some(v) => {
            let current = HashRef::of(v)
                .and_then(|h| h.get(field))
                .map(|c| c.to_vec());
            let sum = hincr_by_float(current.as_deref(), by).map_err(float_err)?;
            hash_set(v, field, &sum, &lim);
            Some(sum)
        }
        None => None,
    };
    let sum = match result {
        Some(sum) => {
            ctx.db.modified(key);
            sum
        }
        None => {
            let sum = hincr_by_float(None, by).map_err(float_err)?;
            let mut v = Value::HashLp(Lp::new());
            hash_set(&mut v, field, &sum, &lim);
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, v, 0);
            sum
        }
    };
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.out.bulk(&sum);
    if ctx.engine.propagating() {
        // Replicas get the final value, never redo the float arithmetic.
        let record = [b"HSET".as_slice(), key, field, &sum]
            .iter()
            .map(|p| Bytes::copy_from_slice(p))
            .collect();
        ctx.propagate_as(vec![record]);
    }
    Ok(())
}

// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    if args.len() < 3 {
        let Some(h) = lookup_ref(&mut ctx.db, key)? else {
            ctx.out.null();
            return Ok(());
        };
        let mut rng = rand::thread_rng();
        let field = match h {
            HashRef::Lp(lp) => {
                let i = rng.gen_range(0..h.len().max(1));
                lp.offset_of(2 * i).map(|at| lp.get(at).0)
            }
            HashRef::Big(b) => b.random(&mut rng).map(|x| LpVal::Str(x.field.as_slice())),
        };
        match field {
            Some(f) => bulk_val(ctx.out, f),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = parse_random_count(arg(args, 2))?;
    if args.len() > 4 || (args.len() == 4 && !arg(args, 3).eq_ignore_ascii_case(b"withvalues")) {
        return Err(Error::Syntax);
    }
    let withvalues = args.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(Error::msg("ERR value is out of range"));
    }
    let resp3 = ctx.out.is_resp3();
    let Some(h) = lookup_ref(&mut ctx.db, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let out = &mut *ctx.out;
    let count = l.unsigned_abs();
    let write_pair = |out: &mut ReplyWriter, (k, v): (LpVal<'_>, LpVal<'_>)| {
        if withvalues && resp3 {
            out.array(2);
        }
        bulk_val(out, k);
        if withvalues {
            bulk_val(out, v);
        }
    };
    let header = |out: &mut ReplyWriter, n: usize| {
        out.array(if withvalues && !resp3 { 2 * n } else { n });
    };
    let size = h.len();
    // (A hash is never empty; the check keeps the random picks below total.)
    if count == 0 || size == 0 {
        out.array(0);
        return Ok(());
    }
    // Repetitions allowed (negative count), or a single pick.
    if l < 0 || count == 1 {
        check_repeat_count(count)?;
        let n = count as usize;
        header(out, n);
        let mut rng = rand::thread_rng();
        match h {
            HashRef::Lp(_) => {
                let pairs = h.pairs();
                for _ in 0..n {
                    write_pair(out, pairs[rng.gen_range(0..pairs.len())]);
                }
            }
            HashRef::Big(b) if many_picks(n, b.len()) => {
                let items: Vec<&HashItem> = b.iter().collect();
                for _ in 0..n {
                    let x = items[rng.gen_range(0..items.len())];
                    let pair = (
                        LpVal::Str(x.field.as_slice()),
                        LpVal::Str(x.value.as_slice()),
                    );
                    write_pair(out, pair);
                }
            }
            HashRef::Big(b) => {
                for _ in 0..n {
                    if let Some(x) = b.random(&mut rng) {
                        let pair = (
                            LpVal::Str(x.field.as_slice()),
                            LpVal::Str(x.value.as_slice()),
                        );
                        write_pair(out, pair);
                    }
                }
            }
        }
        return Ok(());
    }
    // The whole hash.
    if count >= size as u64 {
        header(out, size);
        h.for_each(|k, v| write_pair(out, (k, v)));
        return Ok(());
    }
    let count = count as usize;
    let picked: Vec<(LpVal<'_>, LpVal<'_>)> = match h {
        HashRef::Big(b) if !many_picks(count, size) => sample_distinct(
            size,
            count,
            || b.iter().collect(),
            |rng| b.random(rng),
            |x| *x as *const HashItem as usize,
        )
        .into_iter()
        .map(|x| {
            (
                LpVal::Str(x.field.as_slice()),
                LpVal::Str(x.value.as_slice()),
            )
        })
        .collect(),
        _ => {
            let pairs = h.pairs();
            sample_indices(size, count)
                .into_iter()
                .map(|i| pairs[i])
                .collect()
        }
    };
    header(out, picked.len());
    for p in picked {
        write_pair(out, p);
    }
    Ok(())
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let cursor = parse_scan_cursor(arg(args, 2))?;
    let Some(h) = lookup_ref(&mut ctx.db, arg(args, 1))? else {
        reply_empty_scan(ctx.out);
        return Ok(());
    };
    let opts = parse_scan_args(args)?;
    let mut found: Vec<(LpVal<'_>, LpVal<'_>)> = Vec::new();
    let next = match h {
        HashRef::Lp(_) => {
            h.for_each(|k, v| {
                if opts.matches(k) {
                    found.push((k, v));
                }
            });
            0
        }
        HashRef::Big(b) => b.scan(cursor, opts.count, |x| {
            let k = LpVal::Str(x.field.as_slice());
            if opts.matches(k) {
                found.push((k, LpVal::Str(x.value.as_slice())));
            }
        }),
    };
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(2 * found.len());
    for (k, v) in found {
        bulk_val(out, k);
        bulk_val(out, v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testkit::{bulk, int, Kit};

    fn enc(k: &mut Kit, key: &str) -> String {
        k.run(&["OBJECT", "ENCODING", key])
    }

    #[test]
    fn set_get_and_friends() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["HSET", "h", "a", "1", "b", "2"]), int(2));
        assert_eq!(k.run(&["HSET", "h", "a", "x", "c", "3"]), int(1));
        assert_eq!(k.run(&["HGET", "h", "a"]), bulk("x"));
        assert_eq!(k.run(&["HGET", "h", "zz"]), "$-1\r\n");
        assert_eq!(k.run(&["HGET", "nope", "a"]), "$-1\r\n");
        assert_eq!(k.run(&["HLEN", "h"]), int(3));
        assert_eq!(k.run(&["HLEN", "nope"]), int(0));
        assert_eq!(
            k.run(&["HGETALL", "h"]),
            "*6\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            k.run(&["HKEYS", "h"]),
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(
            k.run(&["HVALS", "h"]),
            "*3\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            k.run(&["HMGET", "h", "a", "zz", "c"]),
            "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n3\r\n"
        );
        assert_eq!(k.run(&["HEXISTS", "h", "b"]), int(1));
        assert_eq!(k.run(&["HEXISTS", "h", "q"]), int(0));
        assert_eq!(k.run(&["HSTRLEN", "h", "a"]), int(1));
        assert_eq!(k.run(&["HSET", "h", "n", "-12345"]), int(1));
        assert_eq!(k.run(&["HSTRLEN", "h", "n"]), int(6));
        assert_eq!(k.run(&["HSETNX", "h", "a", "y"]), int(0));
        assert_eq!(k.run(&["HSETNX", "h", "d", "y"]), int(1));
        assert_eq!(k.run(&["HSETNX", "new", "d", "y"]), int(1));
        assert_eq!(k.run(&["HMSET", "h", "e", "5"]), "+OK\r\n");
        assert_eq!(
            k.run(&["HSET", "h", "e"]),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(
            k.run(&["HMSET", "h", "e", "1", "f"]),
            "-ERR wrong number of arguments for 'hmset' command\r\n"
        );
        assert_eq!(enc(&mut k, "h"), "$8\r\nlistpack\r\n");
        k.run(&["SET", "s", "x"]);
        let wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            vec!["HSET", "s", "a", "1"],
            vec!["HGET", "s", "a"],
            vec!["HGETALL", "s"],
            vec!["HDEL", "s", "a"],
            vec!["HLEN", "s"],
            vec!["HINCRBY", "s", "a", "1"],
            vec!["HINCRBYFLOAT", "s", "a", "1"],
            vec!["HRANDFIELD", "s"],
            vec!["HSCAN", "s", "0"],
        ] {
            assert_eq!(k.run(&cmd), wrong, "{cmd:?}");
        }
    }

    #[test]
    fn hdel_removes_the_key_with_the_last_field() {
        let mut k = Kit::new();
        k.run(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(k.run(&["HDEL", "h", "a", "zz", "a"]), int(1));
        assert_eq!(k.run(&["HDEL", "h", "b", "c"]), int(1));
        assert_eq!(k.run(&["EXISTS", "h"]), int(0));
        assert_eq!(k.run(&["HDEL", "h", "b"]), int(0));
        // Big form too.
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "2"]);
        k.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(enc(&mut k, "h"), "$9\r\nhashtable\r\n");
        assert_eq!(k.run(&["HDEL", "h", "a", "b", "c", "d"]), int(3));
        assert_eq!(k.run(&["EXISTS", "h"]), int(0));
    }

    #[test]
    fn conversions_follow_the_limits() {
        let mut k = Kit::new();
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "3"]);
        k.run(&["CONFIG", "SET", "hash-max-listpack-value", "4"]);
        k.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(enc(&mut k, "h"), "$8\r\nlistpack\r\n");
        k.run(&["HSET", "h", "d", "4"]);
        assert_eq!(enc(&mut k, "h"), "$9\r\nhashtable\r\n");
        // Never back.
        k.run(&["HDEL", "h", "a", "b", "c"]);
        assert_eq!(enc(&mut k, "h"), "$9\r\nhashtable\r\n");
        assert_eq!(k.run(&["HGET", "h", "d"]), bulk("4"));
        // A long value, a long field, an HINCRBY result.
        k.run(&["HSET", "v", "a", "12345"]);
        assert_eq!(enc(&mut k, "v"), "$9\r\nhashtable\r\n");
        k.run(&["HSET", "f", "abcde", "1"]);
        assert_eq!(enc(&mut k, "f"), "$9\r\nhashtable\r\n");
        k.run(&["HSET", "i", "a", "9999"]);
        assert_eq!(enc(&mut k, "i"), "$8\r\nlistpack\r\n");
        assert_eq!(k.run(&["HINCRBY", "i", "a", "1"]), int(10000));
        assert_eq!(enc(&mut k, "i"), "$9\r\nhashtable\r\n");
        assert_eq!(k.run(&["HGET", "i", "a"]), bulk("10000"));
        // Zero entries: every hash is a table.
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
        k.run(&["HSET", "z", "a", "1"]);
        assert_eq!(enc(&mut k, "z"), "$9\r\nhashtable\r\n");
    }

    #[test]
    fn hincrby_and_hincrbyfloat() {
        let mut k = Kit::new();
        let rec = k.record();
        assert_eq!(k.run(&["HINCRBY", "h", "n", "5"]), int(5));
        assert_eq!(k.run(&["HINCRBY", "h", "n", "-7"]), int(-2));
        assert_eq!(
            k.run(&["HINCRBY", "h", "n", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        k.run(&["HSET", "h", "s", "abc", "m", "9223372036854775807"]);
        assert_eq!(
            k.run(&["HINCRBY", "h", "s", "1"]),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(
            k.run(&["HINCRBY", "h", "m", "1"]),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(k.run(&["HINCRBYFLOAT", "h", "f", "1.5"]), bulk("1.5"));
        assert_eq!(k.run(&["HINCRBYFLOAT", "h", "f", "0.25"]), bulk("1.75"));
        assert_eq!(k.run(&["HINCRBYFLOAT", "h", "n", "2"]), bulk("0"));
        assert_eq!(k.run(&["HINCRBYFLOAT", "g", "f", "3"]), bulk("3"));
        assert_eq!(
            k.run(&["HINCRBYFLOAT", "h", "s", "1"]),
            "-ERR hash value is not a float\r\n"
        );
        assert_eq!(
            k.run(&["HINCRBYFLOAT", "h", "f", "inf"]),
            "-ERR value is NaN or Infinity\r\n"
        );
        k.run(&["SET", "str", "x"]);
        assert_eq!(
            k.run(&["HINCRBYFLOAT", "str", "f", "x"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            k.run(&["HINCRBY", "str", "f", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        let lines = rec.lines();
        assert!(lines.contains(&"HSET h f 1.5".to_string()), "{lines:?}");
        assert!(lines.contains(&"HSET h f 1.75".to_string()), "{lines:?}");
        assert!(lines.contains(&"HSET g f 3".to_string()), "{lines:?}");
        assert!(lines.contains(&"HINCRBY h n 5".to_string()), "{lines:?}");
    }

    #[test]
    fn hrandfield_shapes() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["HRANDFIELD", "h"]), "$-1\r\n");
        assert_eq!(k.run(&["HRANDFIELD", "h", "3"]), "*0\r\n");
        k.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(
            k.run(&["HRANDFIELD", "h", "5", "WITHVALUES"]),
            "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(k.run(&["HRANDFIELD", "h", "0"]), "*0\r\n");
        assert!(k.run(&["HRANDFIELD", "h", "-5"]).starts_with("*5\r\n"));
        assert!(k
            .run(&["HRANDFIELD", "h", "-5", "withvalues"])
            .starts_with("*10\r\n"));
        assert!(k.run(&["HRANDFIELD", "h", "2"]).starts_with("*2\r\n"));
        assert_eq!(
            k.run(&["HRANDFIELD", "h", "1", "x"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["HRANDFIELD", "h", "4611686018427387904", "withvalues"]),
            "-ERR value is out of range\r\n"
        );
        assert_eq!(
            k.run(&["HRANDFIELD", "h", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert!(k
            .run(&["HRANDFIELD", "h", "-9223372036854775807"])
            .starts_with("-ERR count is too large"));
        k.out.set_resp3(true);
        assert_eq!(
            k.run(&["HRANDFIELD", "h", "1", "WITHVALUES"]).len(),
            "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n".len()
        );
        assert_eq!(k.run(&["HRANDFIELD", "nope"]), "_\r\n");
    }

    #[test]
    fn hrandfield_distinct_on_big_hash() {
        let mut k = Kit::new();
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "8"]);
        for i in 0..100 {
            k.run(&["HSET", "h", &format!("f{i}"), &i.to_string()]);
        }
        for count in ["10", "50", "99"] {
            let r = k.run(&["HRANDFIELD", "h", count]);
            let items: Vec<&str> = r.split("\r\n").filter(|l| l.starts_with('f')).collect();
            let distinct: std::collections::HashSet<_> = items.iter().collect();
            assert_eq!(items.len(), count.parse::<usize>().unwrap());
            assert_eq!(distinct.len(), items.len());
        }
        assert!(k.run(&["HRANDFIELD", "h"]).contains('f'));
    }

    #[test]
    fn hscan_listpack_and_table() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["HSCAN", "h", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(k.run(&["HSCAN", "h", "x"]), "-ERR invalid cursor\r\n");
        k.run(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(
            k.run(&["HSCAN", "h", "7", "MATCH", "a*"]),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            k.run(&["HSCAN", "h", "0", "COUNT", "0"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["HSCAN", "h", "0", "TYPE", "x"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["HSCAN", "h", "0", "COUNT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
        for i in 0..500 {
            k.run(&["HSET", "big", &format!("f{i}"), "v"]);
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = "0".to_string();
        let mut extra = 0;
        loop {
            let r = k.run(&["HSCAN", "big", &cursor, "COUNT", "7"]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            for l in lines.iter().skip(4) {
                if l.starts_with('f') {
                    *seen.entry(l.to_string()).or_insert(0) += 1;
                }
            }
            k.run(&["HSET", "big", &format!("g{extra}"), "v"]);
            extra += 1;
            if cursor == "0" {
                break;
            }
        }
        for i in 0..500 {
            assert_eq!(seen.get(&format!("f{i}")), Some(&1), "f{i}");
        }
    }

    /// The model of one hash: fields in insertion order, and whether it was converted.
    #[derive(Default, Clone, Debug)]
    struct Model {
        fields: Vec<(Vec<u8>, Vec<u8>)>,
        big: bool,
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Set(Vec<(u8, usize)>),
            Del(Vec<u8>),
            Incr(u8, i32),
            Get(u8),
        }

        fn field(i: u8) -> Vec<u8> {
            format!("f{i}").into_bytes()
        }

        fn value(len: usize) -> Vec<u8> {
            vec![b'v'; len]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => prop::collection::vec((0u8..12, 0usize..8), 1..4).prop_map(Op::Set),
                2 => prop::collection::vec(0u8..12, 1..3).prop_map(Op::Del),
                1 => (0u8..12, -50i32..50).prop_map(|(f, n)| Op::Incr(f, n)),
                1 => (0u8..12).prop_map(Op::Get),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn hash_matches_model(ops in prop::collection::vec(op(), 1..60)) {
                let mut k = Kit::new();
                k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "6"]);
                k.run(&["CONFIG", "SET", "hash-max-listpack-value", "5"]);
                let mut m = Model::default();
                for op in ops {
                    match op {
                        Op::Set(pairs) => {
                            let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"h".to_vec()];
                            let mut created = 0;
                            for (f, len) in pairs {
                                let (f, v) = (field(f), value(len));
                                if f.len() > 5 || v.len() > 5 { m.big = true; }
                                match m.fields.iter_mut().find(|(x, _)| *x == f) {
                                    Some(p) => p.1 = v.clone(),
                                    None => { m.fields.push((f.clone(), v.clone())); created += 1; }
                                }
                                if m.fields.len() > 6 { m.big = true; }
                                args.push(f);
                                args.push(v);
                            }
                            let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
                            prop_assert_eq!(k.run_bytes(&a), int(created));
                        }
                        Op::Del(fs) => {
                            let mut args: Vec<Vec<u8>> = vec![b"HDEL".to_vec(), b"h".to_vec()];
                            let mut deleted = 0;
                            for f in fs {
                                let f = field(f);
                                if let Some(p) = m.fields.iter().position(|(x, _)| *x == f) {
                                    m.fields.remove(p);
                                    deleted += 1;
                                }
                                args.push(f);
                            }
                            let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
                            prop_assert_eq!(k.run_bytes(&a), int(deleted));
                            if m.fields.is_empty() { m.big = false; }
                        }
                        Op::Incr(f, n) => {
                            let f = field(f);
                            let cur = m.fields.iter().find(|(x, _)| *x == f).map(|p| p.1.clone());
                            let fs = String::from_utf8(f.clone()).unwrap();
                            let r = k.run(&["HINCRBY", "h", &fs, &n.to_string()]);
                            match cur.as_deref().map(|c| std::str::from_utf8(c).unwrap().parse::<i64>()) {
                                Some(Err(_)) => prop_assert_eq!(r, "-ERR hash value is not an integer\r\n"),
                                other => {
                                    let new = other.map_or(0, |x| x.unwrap()) + n as i64;
                                    prop_assert_eq!(r, int(new));
                                    let v = new.to_string().into_bytes();
                                    if v.len() > 5 { m.big = true; }
                                    match m.fields.iter_mut().find(|(x, _)| *x == f) {
                                        Some(p) => p.1 = v,
                                        None => m.fields.push((f, v)),
                                    }
                                    if m.fields.len() > 6 { m.big = true; }
                                }
                            }
                        }
                        Op::Get(f) => {
                            let f = field(f);
                            let fs = String::from_utf8(f.clone()).unwrap();
                            let want = match m.fields.iter().find(|(x, _)| *x == f) {
                                Some((_, v)) => bulk(std::str::from_utf8(v).unwrap()),
                                None => "$-1\r\n".to_string(),
                            };
                            prop_assert_eq!(k.run(&["HGET", "h", &fs]), want);
                        }
                    }
                    // Length, encoding and content agree after every step.
                    prop_assert_eq!(k.run(&["HLEN", "h"]), int(m.fields.len() as i64));
                    let want_enc = if m.fields.is_empty() {
                        "$-1\r\n"
                    } else if m.big {
                        "$9\r\nhashtable\r\n"
                    } else {
                        "$8\r\nlistpack\r\n"
                    };
                    prop_assert_eq!(enc(&mut k, "h"), want_enc);
                    let all = k.run(&["HGETALL", "h"]);
                    let mut want_all = format!("*{}\r\n", 2 * m.fields.len());
                    let mut pairs = m.fields.clone();
                    if m.big {
                        // Table order is not insertion order: compare sorted pairs.
                        let mut got: Vec<(String, String)> = Vec::new();
                        let lines: Vec<&str> = all.split("\r\n").collect();
                        let mut i = 2;
                        while i + 2 < lines.len() {
                            got.push((lines[i].to_string(), lines[i + 2].to_string()));
                            i += 4;
                        }
                        got.sort();
                        pairs.sort();
                        let want: Vec<(String, String)> = pairs.iter().map(|(a, b)| {
                            (String::from_utf8(a.clone()).unwrap(), String::from_utf8(b.clone()).unwrap())
                        }).collect();
                        prop_assert_eq!(got, want);
                    } else {
                        for (f, v) in &pairs {
                            want_all.push_str(&bulk(std::str::from_utf8(f).unwrap()));
                            want_all.push_str(&bulk(std::str::from_utf8(v).unwrap()));
                        }
                        prop_assert_eq!(all, want_all);
                    }
                }
            }
        }
    }

    #[test]
    fn encoding_limits_snapshot_is_read_per_command() {
        let mut k = Kit::new();
        k.run(&["HSET", "h", "a", "1"]);
        k.run(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
        k.run(&["HSET", "h", "b", "1"]);
        assert_eq!(enc(&mut k, "h"), "$9\r\nhashtable\r\n");
        // MEMORY USAGE and TYPE see the value.
        assert_eq!(k.run(&["TYPE", "h"]), "+hash\r\n");
    }
}
