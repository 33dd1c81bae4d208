//! Lua scripting end to end: EVAL/EVALSHA/EVAL_RO, SCRIPT, FUNCTION/FCALL, the libraries, the
//! sandbox, SCRIPT KILL, and scripts of the kind users write (a rate limiter, a lock with a
//! fencing token) under concurrent clients. Replies and error texts are compared byte for byte
//! with redis-server 7.0 where it is installed.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{compare, q, q_err, Server};
use redis::Value;

#[test]
fn compare_conversions_lua_to_resp() {
    compare(&[
        "EVAL \"return 3.99\" 0",
        "EVAL \"return -3.99\" 0",
        "EVAL \"return 1e30\" 0",
        "EVAL \"return {1,2,3,nil,5}\" 0",
        "EVAL \"return {1,'a',{2,3},true,false}\" 0",
        "EVAL \"return true\" 0",
        "EVAL \"return false\" 0",
        "EVAL \"return nil\" 0",
        "EVAL \"return\" 0",
        "EVAL \"return {}\" 0",
        "EVAL \"return {a=1}\" 0",
        "EVAL \"return {double=3.5}\" 0",
        "EVAL \"return {double=0.1}\" 0",
        "EVAL \"return {double=1/0}\" 0",
        "EVAL \"return {map={a=1}}\" 0",
        "EVAL \"return {set={a=true}}\" 0",
        "EVAL \"return {big_number='123'}\" 0",
        "EVAL \"return {verbatim_string={format='txt',string='hi'}}\" 0",
        "EVAL \"return {ok='fine'}\" 0",
        "EVAL \"return {err='boom'}\" 0",
        "EVAL \"return {err='MY boom'}\" 0",
        "EVAL \"return redis.error_reply('boom')\" 0",
        "EVAL \"return redis.error_reply('MY boom')\" 0",
        "EVAL \"return redis.status_reply('fine')\" 0",
        "EVAL \"return redis.status_reply()\" 0",
        "EVAL \"redis.setresp(3) return true\" 0",
        "EVAL \"redis.setresp(3) return false\" 0",
        "EVAL \"redis.setresp(3) return {1,true,false}\" 0",
        "EVAL \"return KEYS\" 2 a b c d",
        "EVAL \"return ARGV\" 2 a b c d",
        "EVAL \"return {#KEYS, #ARGV}\" 0",
    ]);
}

#[test]
fn compare_conversions_resp_to_lua() {
    compare(&[
        "SET str abc",
        "EVAL \"return redis.call('get','nokey')\" 0",
        "EVAL \"return type(redis.call('get','nokey'))\" 0",
        "EVAL \"redis.setresp(3) return type(redis.call('get','nokey'))\" 0",
        "EVAL \"return redis.call('ping')\" 0",
        "EVAL \"return type(redis.call('ping'))\" 0",
        "EVAL \"return redis.call('ping').ok\" 0",
        "EVAL \"return redis.call('get','str')\" 0",
        "EVAL \"return redis.call('incr','str')\" 0",
        "EVAL \"return redis.pcall('incr','str')\" 0",
        "EVAL \"return redis.pcall('incr','str').err\" 0",
        "EVAL \"return redis.call('set',1.5,2.25)\" 0",
        "EVAL \"return redis.call('get',1.5)\" 0",
        "EVAL \"return redis.call('set','f',0.1) and redis.call('get','f')\" 0",
        "EVAL \"return redis.call('set','f',1e20) and redis.call('get','f')\" 0",
        "EVAL \"return redis.call('incrby','n',5)\" 0",
        "EVAL \"return type(redis.call('incrby','n',5))\" 0",
        "EVAL \"return redis.call('mget','str','nokey','n')\" 0",
        "EVAL \"return redis.call('exists','str','n')\" 0",
        "EVAL \"redis.setresp(3) return redis.call('exists','str')\" 0",
        "EVAL \"local r = redis.call('incrbyfloat','fl','1.5') return {type(r), r}\" 0",
    ]);
}

#[test]
fn compare_errors() {
    compare(&[
        "EVAL \"return x\" 0",
        "EVAL \"x=1\" 0",
        "EVAL \"return redis.call('nosuch')\" 0",
        "EVAL \"return redis.pcall('nosuch')\" 0",
        "EVAL \"return redis.call()\" 0",
        "EVAL \"return redis.pcall()\" 0",
        "EVAL \"error('boom')\" 0",
        "EVAL \"error('boom', 0)\" 0",
        "EVAL \"error(12)\" 0",
        "EVAL \"error(true)\" 0",
        "EVAL \"error({err='XX tbl'})\" 0",
        "EVAL \"return 1 + {}\" 0",
        "EVAL \"return redis.call('set','a')\" 0",
        "EVAL \"return redis.call('set','f',true)\" 0",
        "EVAL \"return redis.call('eval','return 1',0)\" 0",
        "EVAL \"return redis.call('config','get','maxmemory')\" 0",
        "EVAL \"local a = 1\\n\\nlocal b = nil + 1\" 0",
        "EVAL \"local function f() error('deep') end\\nlocal x = 1\\nf()\" 0",
        "EVAL \"return assert(false, 'assertion msg')\" 0",
        "EVAL \"return string.rep()\" 0",
        "EVAL \"return ('x'):bad()\" 0",
        "EVAL \"return (\" 0",
        "EVAL \"return 1\" -1",
        "EVAL \"return 1\" 3 a",
        "EVAL \"return 1\" x",
        "EVAL \"return 1\"",
        "EVAL \"return redis.sha1hex()\" 0",
        "EVAL \"return redis.setresp(4)\" 0",
        "EVAL \"return redis.setresp()\" 0",
        "EVAL \"return redis.set_repl(9)\" 0",
        "EVAL \"return redis.set_repl()\" 0",
        "EVAL \"return redis.log(redis.LOG_WARNING)\" 0",
        "EVAL \"return redis.log('x', 'y')\" 0",
        "EVAL \"return redis.log(9, 'y')\" 0",
        "EVAL \"return pcall(redis.call, 'nosuch')\" 0",
        "EVAL \"local ok, e = pcall(redis.call, 'nosuch') return e\" 0",
        "EVAL \"local ok, e = pcall(error, {err='x'}) return {type(e), tostring(e)}\" 0",
        "EVAL \"return {#KEYS}\" 0",
        "EVAL_RO \"return redis.call('set','k','v')\" 0",
        "EVAL_RO \"return redis.pcall('set','k','v')\" 0",
        "EVAL_RO \"return redis.call('get','k')\" 0",
        "EVAL_RO \"#!lua\\nreturn 1\" 0",
        "EVAL_RO \"#!lua flags=no-writes\\nreturn 1\" 0",
        "EVAL \"#!lua flags=no-writes\\nreturn redis.call('set','a','b')\" 0",
        "EVAL \"#!lua flags=bogus\\nreturn 1\" 0",
        "EVAL \"#!lua foo=bar\\nreturn 1\" 0",
        "EVAL \"#!python\\nreturn 1\" 0",
        "EVAL \"#!lua\" 0",
        "EVAL \"#!lua\\nreturn x\" 0",
    ]);
}

#[test]
fn compare_sandbox() {
    compare(&[
        "EVAL \"rawset(_G,'x',1) return x\" 0",
        "EVAL \"return _G.x\" 0",
        "EVAL \"_G.x=1\" 0",
        "EVAL \"string.foo=1\" 0",
        "EVAL \"KEYS = {}\" 0",
        "EVAL \"KEYS[1] = 'x' return KEYS[1]\" 1 k",
        "EVAL \"setmetatable(_G,nil)\" 0",
        "EVAL \"getmetatable('').__index = {}\" 0",
        "EVAL \"local mt = getmetatable(_G) mt.__index = nil\" 0",
        "EVAL \"table.insert(string, 1)\" 0",
        "EVAL \"return _G[1]\" 0",
        "EVAL \"return _G[true]\" 0",
        "EVAL \"return redis.foo\" 0",
        "EVAL \"return string.foo\" 0",
        "EVAL \"return pairs(nil)\" 0",
        "EVAL \"return pairs()\" 0",
        "EVAL \"return next(nil)\" 0",
        "EVAL \"return rawget(_G, 'zz')\" 0",
        "EVAL \"return rawget(string, 'len') ~= nil\" 0",
        "EVAL \"return setmetatable({}, 1)\" 0",
        "EVAL \"local t = setmetatable({}, {__index=function(t,k) return k end}) return t.abc\" 0",
        "EVAL \"return loadstring('return 1')()\" 0",
        "EVAL \"return loadstring('x = 1')()\" 0",
        "EVAL \"local f = loadstring('return x') return f()\" 0",
        "EVAL \"return {loadstring(string.dump(function() end))}\" 0",
        "EVAL \"return ('x'):rep(2)\" 0",
        "EVAL \"return coroutine.wrap(function() coroutine.yield(5) end)()\" 0",
        "EVAL \"return _VERSION\" 0",
        "EVAL \"return redis.REDIS_VERSION_NUM > 0\" 0",
        "EVAL \"return {redis.REPL_NONE,redis.REPL_AOF,redis.REPL_SLAVE,redis.REPL_REPLICA,redis.REPL_ALL}\" 0",
        "EVAL \"return {redis.LOG_DEBUG,redis.LOG_VERBOSE,redis.LOG_NOTICE,redis.LOG_WARNING}\" 0",
        "EVAL \"return redis.replicate_commands()\" 0",
        "EVAL \"return redis.breakpoint()\" 0",
        "EVAL \"return redis.sha1hex('')\" 0",
        "EVAL \"return redis.sha1hex(1)\" 0",
        "EVAL \"local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t\" 0",
        "EVAL \"local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t\" 0",
        "EVAL \"local t={} for k,v in pairs(string) do t[#t+1]=k end table.sort(t) return t\" 0",
        "EVAL \"local t={} for k,v in pairs(math) do t[#t+1]=k end table.sort(t) return t\" 0",
        "EVAL \"local t={} for k,v in pairs(table) do t[#t+1]=k end table.sort(t) return t\" 0",
        "EVAL \"for _, n in ipairs({'os','io','print','require','dofile','loadfile','debug','setfenv','getfenv','newproxy','module'}) do if rawget(_G, n) ~= nil then return n end end return 'none'\" 0",
        "EVAL \"return {tostring(math.random()),tostring(math.random())}\" 0",
        "EVAL \"math.randomseed(42) return {math.random(1000), math.random(1, 10)}\" 0",
        "EVAL \"return math.random(0)\" 0",
        "EVAL \"return math.random(1,2,3)\" 0",
    ]);
}

#[test]
fn compare_script_commands() {
    compare(&[
        "EVALSHA 0000000000000000000000000000000000000000 0",
        "EVALSHA zzz 0",
        "SCRIPT LOAD \"return 1\"",
        "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
        "EVALSHA E0E1F9FABFC9D4800C877A703B823AC0578FF8DB 0",
        "EVALSHA_RO e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
        "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db x",
        "SCRIPT LOAD \"return (\"",
        "SCRIPT FLUSH x",
        "SCRIPT FLUSH async x",
        "SCRIPT FLUSH SYNC",
        "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "SCRIPT FLUSH",
        "SCRIPT KILL",
        "SCRIPT HELP",
        "SCRIPT bogus",
        "SCRIPT DEBUG no",
        "SCRIPT DEBUG bogus",
        "EVAL \"return 'cached'\" 0",
        "SCRIPT EXISTS 0e8f3bd1b5ebe6ff0ea4a4f1ab3a5f3e7b6ba31c",
        "FUNCTION KILL",
        "FUNCTION STATS",
        "COMMAND INFO eval evalsha eval_ro evalsha_ro fcall fcall_ro",
        "COMMAND GETKEYS eval \"return 1\" 2 a b c",
        "COMMAND GETKEYS fcall f 0 c",
        "COMMAND GETKEYSANDFLAGS eval_ro \"return 1\" 1 a",
    ]);
}

#[test]
fn compare_functions() {
    compare(&[
        "FUNCTION LOAD \"#!lua name=mylib\\nredis.register_function('f1', function(keys, args) return {keys, args} end)\\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}\"",
        "FCALL f1 2 k1 k2 a1",
        "FCALL F1 0",
        "FCALL f2 1 k1 v",
        "FCALL_RO f1 0",
        "FCALL_RO f2 1 k v",
        // Two functions: Redis lists them in its dict's (random) order.
        "!type FUNCTION LIST",
        "!type FUNCTION LIST WITHCODE",
        "!type FUNCTION LIST LIBRARYNAME my*",
        "FUNCTION LIST LIBRARYNAME x",
        "FUNCTION LIST bogus",
        "FUNCTION LIST LIBRARYNAME",
        "FUNCTION STATS",
        "FUNCTION LOAD \"#!lua name=mylib\\nredis.register_function('f1', function() return 1 end)\"",
        "FUNCTION LOAD \"return 1\"",
        "FUNCTION LOAD \"#!lua\\nreturn 1\"",
        "FUNCTION LOAD \"#!lua name=x\"",
        "FUNCTION LOAD \"#!lua name=x\\nreturn 1\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('f1', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('F1', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x foo=bar\\nredis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x name=y\\nredis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD \"#!python name=x\\nredis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=bad-name!\\nredis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.call('set','a','b')\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('g', function() return 1 end, 'bad')\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('g', 1)\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('1bad!', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'bogus'}}\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function{function_name='g', callback=function() return 1 end, foo=1}\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function{function_name='g'}\"",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('g', function() return 1 end) redis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD \"#!lua name=x\\nreturn ((\"",
        "FUNCTION LOAD \"#!lua name=x\\nerror('boom')\"",
        "FUNCTION LOAD \"#!lua name=x\\nx = 1\"",
        "FUNCTION LOAD bogus \"#!lua name=x\\nredis.register_function('g', function() return 1 end)\"",
        "FUNCTION LOAD REPLACE \"#!lua name=z2\\nredis.register_function('h2', function() return x end)\"",
        "FCALL h2 0",
        "FUNCTION LOAD REPLACE \"#!lua name=z3\\nredis.register_function('h3', function() error('boom') end)\"",
        "FCALL h3 0",
        "FUNCTION LOAD REPLACE \"#!lua name=z4\\nredis.register_function('h4', function() return redis.call('nosuch') end)\"",
        "FCALL h4 0",
        "FUNCTION LOAD REPLACE \"#!lua name=z5\\nredis.register_function('h5', function() local t = {} for k in pairs(redis) do t[#t+1]=k end table.sort(t) return t end)\"",
        "FCALL h5 0",
        "FUNCTION LOAD REPLACE \"#!lua name=z6\\nredis.register_function('h6', function() local t = {} for k in pairs(_G) do t[#t+1]=k end table.sort(t) return t end)\"",
        "FCALL h6 0",
        "FUNCTION DELETE z4",
        "FUNCTION DELETE z4",
        "FUNCTION DELETE",
        "FCALL h4 0",
        "FCALL nosuch 0",
        "FCALL_RO nosuch 0",
        "FCALL f1 -1",
        "FCALL f1 5",
        "FCALL f1 x",
        "FUNCTION RESTORE garbage",
        "FUNCTION RESTORE garbage bogus",
        "FUNCTION RESTORE garbage flush x",
        "FUNCTION FLUSH bogus",
        "FUNCTION FLUSH async x",
        "FUNCTION FLUSH",
        "FUNCTION LIST",
        "FUNCTION LOAD \"#!lua name=one\\nredis.register_function{function_name='only', callback=function() return 1 end, flags={'allow-stale','no-writes','allow-oom'}, description='d'}\"",
        "FUNCTION LIST WITHCODE",
        "FUNCTION LIST LIBRARYNAME o?e",
        "FUNCTION STATS",
        "FUNCTION HELP",
    ]);
}

#[test]
fn compare_libraries() {
    compare(&[
        "EVAL \"return cjson.encode({1,2,3})\" 0",
        "EVAL \"return cjson.encode({})\" 0",
        "EVAL \"return cjson.encode({a=1,b='x',c={1,{d=true}},e=false})\" 0",
        "EVAL \"return cjson.encode('a/b\\\"c\\\\\\\\d\\\\n\\\\1\\\\127')\" 0",
        "EVAL \"return cjson.encode(0.1)\" 0",
        "EVAL \"return cjson.encode(1/3)\" 0",
        "EVAL \"return cjson.encode(123456789012345678)\" 0",
        "EVAL \"return cjson.encode(1/0)\" 0",
        "EVAL \"return cjson.encode({[1]=1,[3]=3})\" 0",
        "EVAL \"return cjson.encode({[1]=1,[20]=3})\" 0",
        "EVAL \"return cjson.encode({[1]=1,[2]=2,x=1})\" 0",
        "EVAL \"return cjson.encode({[true]=1})\" 0",
        "EVAL \"return cjson.encode(function() end)\" 0",
        "EVAL \"return cjson.encode()\" 0",
        "EVAL \"return cjson.encode({cjson.null})\" 0",
        "EVAL \"local t = {} local c = t for i=1,1100 do c[1] = {} c = c[1] end return cjson.encode(t)\" 0",
        "EVAL \"local v = cjson.decode('[1,2,3,{\\\"a\\\":[true,false,null]}]') return {v[1], v[4].a[1], type(v[4].a[3])}\" 0",
        "EVAL \"return cjson.decode('{\\\"a\\\":1.5e3}').a\" 0",
        "EVAL \"return cjson.decode('[1,2')\" 0",
        "EVAL \"return cjson.decode('{1:2}')\" 0",
        "EVAL \"return cjson.decode('')\" 0",
        "EVAL \"return cjson.decode('[1] x')\" 0",
        "EVAL \"return cjson.decode('tru')\" 0",
        "EVAL \"return cjson.decode('-')\" 0",
        "EVAL \"return cjson.decode('0x10')\" 0",
        "EVAL \"return cjson.decode(nil)\" 0",
        "EVAL \"return cjson.decode(string.rep('[', 1100))\" 0",
        "EVAL \"return cjson.decode('[1,]')\" 0",
        "EVAL \"return cjson.encode(cjson.decode('{\\\"x\\\":[1,2,{\\\"y\\\":null}]}'))\" 0",
        "EVAL \"return {bit.tobit(0xffffffff), bit.tobit(2^40+5), bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(5,1), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}\" 0",
        "EVAL \"return bit.band(1, 'x')\" 0",
        "EVAL \"return bit.band()\" 0",
        "EVAL \"return bit.tobit('12')\" 0",
        "EVAL \"return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65536, 2^32, -32, -33, -128, -129, -40000, -2^31, -2^40, 1.5, 0.1, 1/0)\" 0",
        "EVAL \"return cmsgpack.pack('abc', string.rep('x', 40), true, false, nil)\" 0",
        "EVAL \"return cmsgpack.pack({1,2,3}, {}, {a=1}, {1,2,nil,4})\" 0",
        "EVAL \"return cmsgpack.pack({[1]=1,[3]=3})\" 0",
        "EVAL \"local t = {} t[1] = t return cmsgpack.pack(t)\" 0",
        "EVAL \"return cmsgpack.pack()\" 0",
        "EVAL \"return cmsgpack.pack(function() end)\" 0",
        "EVAL \"return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {x='y'}, true, 1.5))}\" 0",
        "EVAL \"local a,b,c = cmsgpack.unpack(cmsgpack.pack({x={1,{y=2}}})) return cjson.encode(a)\" 0",
        "EVAL \"return {cmsgpack.unpack('')}\" 0",
        "EVAL \"return cmsgpack.unpack('\\\\196')\" 0",
        "EVAL \"return cmsgpack.unpack('\\\\193')\" 0",
        "EVAL \"return cmsgpack.unpack('\\\\217')\" 0",
        "EVAL \"return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}\" 0",
        "EVAL \"return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 1)}\" 0",
        "EVAL \"return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}\" 0",
        "EVAL \"return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}\" 0",
        "EVAL \"return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)}\" 0",
        "EVAL \"return cmsgpack.unpack(nil)\" 0",
        "EVAL \"return cmsgpack.unpack()\" 0",
        "EVAL \"return {cmsgpack.unpack('\\\\196\\\\3abc')}\" 0",
        "EVAL \"return {cmsgpack.unpack('\\\\207\\\\0\\\\0\\\\0\\\\1\\\\0\\\\0\\\\0\\\\0')}\" 0",
        "EVAL \"return {cmsgpack.unpack('\\\\211\\\\255\\\\255\\\\255\\\\255\\\\255\\\\255\\\\255\\\\255')}\" 0",
        "EVAL \"return {cmsgpack.unpack('\\\\202\\\\63\\\\192\\\\0\\\\0')}\" 0",
        "EVAL \"return cmsgpack.pack(-0.0, 3.0, 1e20, -1e20, 2^53, 2^63, -2^63)\" 0",
        "EVAL \"return struct.pack('>I2', 258)\" 0",
        "EVAL \"return struct.pack('<i4hbB', -2, 3, -1, 255)\" 0",
        "EVAL \"return struct.pack('!4 b i', 1, 2)\" 0",
        "EVAL \"return struct.pack('>d f', 1.5, 0.25)\" 0",
        "EVAL \"return struct.pack('s c3 c0', 'ab', 'xyz', 'hello')\" 0",
        "EVAL \"return struct.pack('z', 1)\" 0",
        "EVAL \"return struct.pack('i', 'x')\" 0",
        "EVAL \"return struct.pack('c5', 'ab')\" 0",
        "EVAL \"return struct.pack('i40', 1)\" 0",
        "EVAL \"return struct.pack('!3i', 1)\" 0",
        "EVAL \"return {struct.unpack('>I2', '\\\\1\\\\2')}\" 0",
        "EVAL \"return {struct.unpack('<i4hbB', struct.pack('<i4hbB', -2, 3, -1, 255))}\" 0",
        "EVAL \"return {struct.unpack('s c3', struct.pack('s c3', 'ab', 'xyz'))}\" 0",
        "EVAL \"return {struct.unpack('b c0', struct.pack('b c0', 5, 'hello'))}\" 0",
        "EVAL \"return {struct.unpack('I4', 'ab')}\" 0",
        "EVAL \"return {struct.unpack('I1', 'ab', 2)}\" 0",
        "EVAL \"return {struct.unpack('I1', 'ab', 0)}\" 0",
        "EVAL \"return {struct.unpack('s', 'abc')}\" 0",
        "EVAL \"return {struct.unpack('c0', 'abc')}\" 0",
        "EVAL \"return {struct.size('>i4 h b'), struct.size('!8 b d'), struct.size('l T')}\" 0",
        "EVAL \"return struct.size('s')\" 0",
        "EVAL \"return struct.size('c0')\" 0",
        "EVAL \"return struct.size('q')\" 0",
        "EVAL \"return {struct.unpack('>d', struct.pack('>d', 3.25))}\" 0",
        "EVAL \"return {struct.unpack('>f', struct.pack('>f', 3.25))}\" 0",
        "EVAL \"return struct.pack()\" 0",
        "EVAL \"return {struct.unpack('>i16', struct.pack('>i16', -1))}\" 0",
    ]);
}

/// The classic token bucket: refill by elapsed time, take one token if there is one.
const TOKEN_BUCKET: &str = r#"
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('MGET', key .. ':tokens', key .. ':ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('SET', key .. ':tokens', tokens)
redis.call('SET', key .. ':ts', now)
return allowed
"#;

#[test]
fn token_bucket_under_concurrent_clients() {
    let s = Server::start(&[]);
    let sha: String = q(&mut s.conn(), &["SCRIPT", "LOAD", TOKEN_BUCKET]);
    let clients = 8;
    let per_client = 25;
    let barrier = Arc::new(Barrier::new(clients));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let mut c = s.conn();
        let sha = sha.clone();
        let barrier = barrier.clone();
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let mut allowed = 0;
            for _ in 0..per_client {
                // A frozen clock: no refill, so exactly `capacity` requests pass.
                let r: i64 = q(&mut c, &["EVALSHA", &sha, "1", "bucket", "50", "1", "1000"]);
                allowed += r;
            }
            allowed
        }));
    }
    let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        total, 50,
        "a bucket of 50 tokens admits exactly 50 requests"
    );
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "bucket:tokens"]), "0");
    // Time passes: 10 tokens come back.
    let r: i64 = q(&mut c, &["EVALSHA", &sha, "1", "bucket", "50", "1", "1010"]);
    assert_eq!(r, 1);
    assert_eq!(q::<String>(&mut c, &["GET", "bucket:tokens"]), "9");
}

/// Acquire: set the lock if free and hand out the next fencing token.
const LOCK_ACQUIRE: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"#;

/// Release: only the owner may delete the lock.
const LOCK_RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

#[test]
fn lock_with_fencing_tokens_under_concurrent_clients() {
    let s = Server::start(&[]);
    let clients = 6;
    let rounds = 20;
    let barrier = Arc::new(Barrier::new(clients));
    let mut handles = Vec::new();
    for id in 0..clients {
        let mut c = s.conn();
        let barrier = barrier.clone();
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let me = format!("owner-{id}");
            let mut tokens = Vec::new();
            let mut done = 0;
            while done < rounds {
                let r: Option<i64> = q(
                    &mut c,
                    &["EVAL", LOCK_ACQUIRE, "2", "lock", "fence", &me, "10000"],
                );
                let Some(token) = r else {
                    continue;
                };
                // Inside the critical section: nobody else holds the lock.
                let holder: String = q(&mut c, &["GET", "lock"]);
                assert_eq!(holder, me);
                tokens.push(token);
                let released: i64 = q(&mut c, &["EVAL", LOCK_RELEASE, "1", "lock", &me]);
                assert_eq!(released, 1);
                done += 1;
            }
            tokens
        }));
    }
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    let expected: Vec<i64> = (1..=(clients * rounds) as i64).collect();
    assert_eq!(all, expected, "fencing tokens are unique and increasing");
    let mut c = s.conn();
    // A release by someone else does nothing.
    let _: Option<i64> = q(
        &mut c,
        &["EVAL", LOCK_ACQUIRE, "2", "lock", "fence", "a", "10000"],
    );
    assert_eq!(
        q::<i64>(&mut c, &["EVAL", LOCK_RELEASE, "1", "lock", "b"]),
        0
    );
    assert_eq!(q::<String>(&mut c, &["GET", "lock"]), "a");
}

/// The thread counts the busy-script tests run at: one worker (whose only thread the script
/// occupies until it hands the worker over, see the server's `escape_worker`) and two.
const THREADS: [&str; 2] = ["1", "2"];

/// Starts `script` on its own connection in a thread; the thread returns the raw reply.
fn run_in_background(port: u16, script: &'static str) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || common::Raw::connect(port).cmd(&["EVAL", script, "0"]))
}

const SPIN: &str = "local i = 0 while true do i = i + 1 end";

#[test]
fn script_kill_stops_a_busy_read_only_script() {
    for threads in THREADS {
        let s = Server::start(&["--threads", threads]);
        let mut admin = s.conn();
        assert_eq!(
            q::<String>(&mut admin, &["CONFIG", "SET", "lua-time-limit", "50"]),
            "OK"
        );
        assert_eq!(
            q_err(&mut admin, &["SCRIPT", "KILL"]),
            "NOTBUSY No scripts in execution right now."
        );
        let runner = run_in_background(s.port, SPIN);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            q_err(&mut admin, &["FUNCTION", "KILL"]),
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        );
        let start = Instant::now();
        assert_eq!(q::<String>(&mut admin, &["SCRIPT", "KILL"]), "OK");
        let reply = runner.join().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&reply),
            "-ERR Script killed by user with SCRIPT KILL... script: 3fcf51a9b854b8f66cb8685600b0d7df968f4398, on @user_script:1.\r\n",
            "--threads {threads}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        // The server is usable again, by old and new connections.
        assert_eq!(q::<i64>(&mut admin, &["EVAL", "return 7", "0"]), 7);
        let mut fresh = s.conn();
        assert_eq!(q::<String>(&mut fresh, &["PING"]), "PONG");
    }
}

#[test]
fn script_that_wrote_is_unkillable() {
    // Writes, then spins for about a second (by the clock, so it ends by itself).
    const SCRIPT: &str = "redis.call('set','x','y') local t = redis.call('time') local start = t[1] * 1000000 + t[2] \
                  while true do local n = redis.call('time') if n[1] * 1000000 + n[2] - start > 800000 then break end end return 'done'";
    for threads in THREADS {
        let s = Server::start(&["--threads", threads]);
        let mut admin = s.conn();
        let _: String = q(&mut admin, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
        let runner = run_in_background(s.port, SCRIPT);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            q_err(&mut admin, &["SCRIPT", "KILL"]),
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            "--threads {threads}"
        );
        let reply = runner.join().unwrap();
        assert_eq!(String::from_utf8_lossy(&reply), "$4\r\ndone\r\n");
        assert_eq!(q::<String>(&mut admin, &["GET", "x"]), "y");
    }
}

#[test]
fn function_stats_shows_the_running_function() {
    for threads in THREADS {
        let s = Server::start(&["--threads", threads]);
        let mut admin = s.conn();
        let _: String = q(&mut admin, &["CONFIG", "SET", "lua-time-limit", "50"]);
        let _: String = q(
            &mut admin,
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}",
            ],
        );
        let port = s.port;
        let runner = std::thread::spawn(move || {
            let mut raw = common::Raw::connect(port);
            raw.cmd(&["FCALL", "spin", "0"])
        });
        std::thread::sleep(Duration::from_millis(150));
        let stats: Value = q(&mut admin, &["FUNCTION", "STATS"]);
        let text = format!("{stats:?}");
        assert!(text.contains("spin") && text.contains("FCALL"), "{text}");
        let mut other = common::Raw::connect(port);
        assert_eq!(
            other.cmd_str(&["GET", "k"]),
            "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
        );
        assert_eq!(
            q_err(&mut admin, &["SCRIPT", "KILL"]),
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        );
        assert_eq!(q::<String>(&mut admin, &["FUNCTION", "KILL"]), "OK");
        let reply = runner.join().unwrap();
        assert!(
            String::from_utf8_lossy(&reply).starts_with(
                "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
            ),
            "--threads {threads}"
        );
        assert_eq!(
            other.cmd_str(&["FCALL_RO", "nope", "0"]),
            "-ERR Function not found\r\n"
        );
    }
}

/// SHUTDOWN NOSAVE stops the server while a script spins (even one that wrote).
#[test]
fn shutdown_nosave_stops_a_server_running_a_busy_script() {
    const WRITE_AND_SPIN: &str = "redis.call('set', 'x', 'y') while true do end";
    for threads in THREADS {
        let mut s = Server::start(&["--threads", threads]);
        let mut admin = s.conn();
        let _: String = q(&mut admin, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
        let mut runner = common::Raw::connect(s.port);
        runner.send(&common::encode(&[b"EVAL", WRITE_AND_SPIN.as_bytes(), b"0"]));
        std::thread::sleep(Duration::from_millis(200));
        let mut other = common::Raw::connect(s.port);
        other.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
        assert!(
            s.wait_exit(Duration::from_secs(5)).is_some(),
            "--threads {threads}: the server did not exit"
        );
        drop(runner);
    }
}

#[test]
fn function_dump_restore_roundtrip() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let lib = "#!lua name=lib1\nredis.register_function('hello', function(keys, args) return 'hello ' .. args[1] end)";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "lib1");
    let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "FLUSH"]), "OK");
    assert_eq!(
        q_err(&mut c, &["FCALL", "hello", "0", "x"]),
        "ERR Function not found"
    );
    let ok: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(
        q::<String>(&mut c, &["FCALL", "hello", "0", "x"]),
        "hello x"
    );
    // APPEND (the default) refuses an existing library; REPLACE and FLUSH take it.
    let err = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query::<Value>(&mut c)
        .unwrap_err();
    assert_eq!(common::error_text(&err), "ERR Library lib1 already exists");
    for policy in ["REPLACE", "FLUSH"] {
        let ok: String = redis::cmd("FUNCTION")
            .arg("RESTORE")
            .arg(&dump)
            .arg(policy)
            .query(&mut c)
            .unwrap();
        assert_eq!(ok, "OK");
    }
    // A corrupted payload is refused with Redis's error.
    let mut bad = dump.clone();
    bad[3] ^= 0xff;
    let err = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&bad)
        .query::<Value>(&mut c)
        .unwrap_err();
    assert_eq!(
        common::error_text(&err),
        "ERR DUMP payload version or checksum are wrong"
    );
}

/// A payload made by redis-server restores here (its strings are LZF-compressed).
#[test]
fn function_restore_accepts_redis_payloads() {
    if common::skip_without_redis() {
        return;
    }
    let redis = common::Redis::start().expect("redis-server");
    let mut rc = redis.conn();
    let lib = "#!lua name=biglib\nredis.register_function('big', function(keys, args) return 'a fairly long body so that redis compresses this library with lzf when dumping it' end)";
    let _: String = q(&mut rc, &["FUNCTION", "LOAD", lib]);
    let dump: Vec<u8> = q(&mut rc, &["FUNCTION", "DUMP"]);
    let s = Server::start(&[]);
    let mut c = s.conn();
    let ok: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let code: Value = q(&mut c, &["FUNCTION", "LIST", "WITHCODE"]);
    assert!(format!("{code:?}").contains("biglib"));
    let r: String = q(&mut c, &["FCALL", "big", "0"]);
    assert!(r.starts_with("a fairly long body"));
}

#[test]
fn script_effects_are_replicated_not_the_script() {
    // Checked through MONITOR-free means: the script's writes are visible and EVALSHA after
    // SCRIPT FLUSH fails, while the data written stays.
    let s = Server::start(&[]);
    let mut c = s.conn();
    let sha: String = q(
        &mut c,
        &[
            "SCRIPT",
            "LOAD",
            "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
        ],
    );
    assert_eq!(q::<String>(&mut c, &["EVALSHA", &sha, "1", "k", "v"]), "v");
    assert_eq!(q::<String>(&mut c, &["SCRIPT", "FLUSH"]), "OK");
    assert_eq!(
        q_err(&mut c, &["EVALSHA", &sha, "1", "k", "v"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
}

#[test]
fn other_clients_get_busy_while_a_script_runs_long() {
    for threads in THREADS {
        let s = Server::start(&["--threads", threads]);
        let mut admin = s.conn();
        let _: String = q(&mut admin, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
        let _: String = q(&mut admin, &["SET", "k", "v"]);
        let runner = run_in_background(s.port, SPIN);
        std::thread::sleep(Duration::from_millis(200));
        // A connection made while the script runs is served too.
        let mut other = common::Raw::connect(s.port);
        assert_eq!(
            other.cmd_str(&["GET", "k"]),
            "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n",
            "--threads {threads}"
        );
        assert_eq!(
            other.cmd_str(&["PING"]),
            "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
        );
        assert_eq!(other.cmd(&["SCRIPT", "KILL"]), b"+OK\r\n");
        let _ = runner.join().unwrap();
        assert_eq!(other.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
        // Scripts run as before, short and long.
        assert_eq!(other.cmd(&["EVAL", "return 1", "0"]), b":1\r\n");
        assert_eq!(
            other.cmd(&[
                "EVAL",
                "local i = 0 while i < 1000000 do i = i + 1 end return i",
                "0"
            ]),
            b":1000000\r\n"
        );
    }
}

/// A script's commands are never interleaved with another client's: scripts add 1 to `n` twice,
/// readers on other connections must only ever see an even `n`.
#[test]
fn scripts_are_atomic_under_concurrent_clients() {
    let s = Server::start(&["--threads", "4"]);
    let port = s.port;
    let writers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = common::Raw::connect(port);
                for _ in 0..300 {
                    let r = c.cmd(&[
                        "EVAL",
                        "redis.call('incr', KEYS[1]) redis.call('incr', KEYS[1]) return 1",
                        "1",
                        "n",
                    ]);
                    assert_eq!(r, b":1\r\n");
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = common::Raw::connect(port);
                let mut odd = 0;
                for _ in 0..2000 {
                    let r = String::from_utf8_lossy(&c.cmd(&["GET", "n"])).into_owned();
                    if let Some(v) = r.lines().nth(1).and_then(|v| v.parse::<i64>().ok()) {
                        if v % 2 == 1 {
                            odd += 1;
                        }
                    }
                }
                odd
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let odd: i32 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(odd, 0, "a reader saw a script half-way");
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["GET", "n"]), 1800);
}

/// Time stands still for a script's commands: a key set with PX 10 inside a script that then
/// spins 50 ms (TIME itself advances) is still there when the script reads it, as in Redis.
#[test]
fn compare_keys_do_not_expire_during_a_script() {
    compare(&[
        "EVAL \"redis.call('set','k','v','px','10') local t=redis.call('time') local s=t[1]*1000000+t[2] for i=1,100000000 do local n=redis.call('time') if n[1]*1000000+n[2]-s > 50000 then break end end return {redis.call('get','k') or 'gone', redis.call('exists','k'), redis.call('pttl','k') > 0}\" 0",
        "EXISTS k",
    ]);
}

/// Over maxmemory (Redis 7.0): a script with a shebang, or a function, that declared neither
/// `no-writes` nor `allow-oom` is refused before it runs (even with bad numkeys or a syntax
/// error), EVAL_RO/FCALL_RO included; a script without a shebang runs and only its write
/// calls fail, until it wrote once (a DEL first lets the SET through); `allow-oom` lets writes
/// through. An unknown SHA1 or function still gets its own error.
#[test]
fn compare_scripts_over_maxmemory() {
    compare(&[
        "SET k v",
        "SCRIPT LOAD \"#!lua\\nreturn 1\"",
        "FUNCTION LOAD \"#!lua name=lib\\nredis.register_function('f', function(k, a) return redis.call('set', 'fa', '1') end)\\nredis.register_function{function_name='g', callback=function(k, a) return redis.call('set', 'ga', '1') end, flags={'allow-oom'}}\\nredis.register_function{function_name='h', callback=function(k, a) return redis.call('get', 'k') end, flags={'no-writes'}}\"",
        "CONFIG SET maxmemory 1",
        "SET other v",
        "EVAL \"return redis.call('set', 'a', 'b')\" 0",
        "EVAL \"return redis.pcall('set', 'a', 'b')\" 0",
        "EVAL \"return redis.call('get', 'k')\" 0",
        "EVAL \"redis.call('del', 'zz') return redis.call('set', 'a', 'b')\" 0",
        "EVAL \"#!lua\\nreturn 1\" 0",
        "EVAL \"#!lua\\nreturn 1\" -1",
        "EVAL \"#!lua\\nreturn +\" 0",
        "EVAL \"#!lua flags=bogus\\nreturn 1\" 0",
        "EVAL \"#!lua flags=no-writes\\nreturn redis.call('get', 'k')\" 0",
        "EVAL \"#!lua flags=no-writes\\nreturn redis.call('set', 'k', 'w')\" 0",
        "EVAL \"#!lua flags=allow-oom\\nreturn redis.call('set', 'a', 'c')\" 0",
        "EVAL_RO \"#!lua\\nreturn 1\" 0",
        "EVAL_RO \"return 1\" 0",
        "EVALSHA 0000000000000000000000000000000000000000 0",
        "EVALSHA cb70127618f0b0be70c53cf6bfcfa54a29d9b0c0 0",
        "EVALSHA_RO cb70127618f0b0be70c53cf6bfcfa54a29d9b0c0 0",
        "FCALL f 0",
        "FCALL f -1",
        "FCALL g 0",
        "FCALL h 0",
        "FCALL_RO f 0",
        "FCALL_RO g 0",
        "FCALL_RO h 0",
        "FCALL nope 0",
        "CONFIG SET maxmemory 0",
        "EVAL \"#!lua\\nreturn redis.call('get', 'a')\" 0",
        "FCALL f 0",
    ]);
}
