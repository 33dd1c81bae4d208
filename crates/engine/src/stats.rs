//! Server-wide counters for INFO stats, updated with relaxed atomics from every connection,
//! plus the per-error-code counts of INFO errorstats and a few gauges that the modules owning
//! them keep up to date (blocked clients, pub/sub channels, persistence state).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::counter::{Count, Counter};

/// Redis stops tracking new error codes past this many distinct ones (a client could otherwise
/// grow the table without bound with `-<anything>` errors from scripts).
pub const ERRORSTATS_MAX_CODES: usize = 128;

/// INFO stats counters, named as Redis names them.
#[derive(Default, Debug)]
pub struct Stats {
    /// total_connections_received
    pub total_connections_received: AtomicU64,
    /// total_commands_processed
    pub total_commands_processed: Counter,
    /// rejected_connections
    pub rejected_connections: AtomicU64,
    /// expired_keys
    pub expired_keys: Counter,
    /// expired_stale_perc numerator: keys examined by active expiry
    pub expire_checked: AtomicU64,
    /// evicted_keys
    pub evicted_keys: AtomicU64,
    /// keyspace_hits
    pub keyspace_hits: Counter,
    /// keyspace_misses
    pub keyspace_misses: Counter,
    /// total_net_input_bytes
    pub net_input_bytes: Counter,
    /// total_net_output_bytes
    pub net_output_bytes: Counter,
    /// total_error_replies
    pub error_replies: AtomicU64,
    /// unexpected_error_replies / protocol errors
    pub protocol_errors: AtomicU64,
    /// Changes since start (the `dirty` counter of Redis; rdb_changes_since_last_save)
    pub dirty: Counter,
    /// Error replies by code (`ERR`, `WRONGTYPE`...), for INFO errorstats.
    pub error_codes: Mutex<BTreeMap<String, u64>>,
    /// Gauge: clients blocked in a blocking command (blocked_clients).
    pub blocked_clients: AtomicU64,
    /// Gauge: clients with tracking on (tracking_clients).
    pub tracking_clients: AtomicU64,
    /// Gauge: channels with subscribers (pubsub_channels).
    pub pubsub_channels: AtomicU64,
    /// Gauge: patterns with subscribers (pubsub_patterns).
    pub pubsub_patterns: AtomicU64,
    /// Gauge: shard channels with subscribers (pubsubshard_channels).
    pub pubsubshard_channels: AtomicU64,
    /// Unix seconds of the last successful save (0: none yet; INFO then shows the start time).
    pub last_save_s: AtomicU64,
    /// The `dirty` counter when the last save started (rdb_changes_since_last_save is the
    /// difference).
    pub dirty_at_last_save: AtomicU64,
    /// Successful saves (rdb_saves).
    pub rdb_saves: AtomicU64,
    /// 1 while a background save runs (rdb_bgsave_in_progress).
    pub bgsave_in_progress: AtomicU64,
    /// 1 while loading a snapshot or AOF at start (loading).
    pub loading: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &impl Count, n: u64) {
        if n != 0 {
            counter.add_n(n);
        }
    }

    /// Reads a counter.
    #[inline]
    pub fn get(counter: &impl Count) -> u64 {
        counter.value()
    }

    /// Counts one error reply: `total_error_replies` and its code (the text up to the first
    /// space, as Redis's errorstats do). Call it for every error sent to a client.
    pub fn record_error(&self, text: &str) {
        Self::add(&self.error_replies, 1);
        let code = text.split(' ').next().unwrap_or("ERR");
        let mut codes = self.error_codes.lock();
        if let Some(n) = codes.get_mut(code) {
            *n += 1;
        } else if codes.len() < ERRORSTATS_MAX_CODES {
            codes.insert(code.to_string(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        self.error_codes.lock().clear();
        for c in [
            &self.total_commands_processed,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            c.reset();
        }
        for c in [
            &self.total_connections_received,
            &self.rejected_connections,
            &self.expire_checked,
            &self.evicted_keys,
            &self.error_replies,
            &self.protocol_errors,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
