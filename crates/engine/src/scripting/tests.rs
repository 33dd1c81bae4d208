//! Engine-level tests of scripting (replies checked against Redis 7.0's).

use crate::testkit::Kit;

fn ev(k: &mut Kit, script: &str) -> String {
    k.run(&["EVAL", script, "0"])
}

#[test]
fn conversions_lua_to_resp() {
    let mut k = Kit::new();
    assert_eq!(ev(&mut k, "return 3.99"), ":3\r\n");
    assert_eq!(ev(&mut k, "return -3.99"), ":-3\r\n");
    assert_eq!(ev(&mut k, "return 1e30"), ":-9223372036854775808\r\n");
    assert_eq!(
        ev(&mut k, "return {1,2,3,nil,5}"),
        "*3\r\n:1\r\n:2\r\n:3\r\n"
    );
    assert_eq!(
        ev(&mut k, "return {1,'a',{2,3},true,false}"),
        "*5\r\n:1\r\n$1\r\na\r\n*2\r\n:2\r\n:3\r\n:1\r\n$-1\r\n"
    );
    assert_eq!(ev(&mut k, "return true"), ":1\r\n");
    assert_eq!(ev(&mut k, "return false"), "$-1\r\n");
    assert_eq!(ev(&mut k, "return nil"), "$-1\r\n");
    assert_eq!(ev(&mut k, "return {a=1}"), "*0\r\n");
    assert_eq!(ev(&mut k, "return {double=3.5}"), "$3\r\n3.5\r\n");
    assert_eq!(ev(&mut k, "return {ok='fine'}"), "+fine\r\n");
    assert_eq!(ev(&mut k, "return {err='boom'}"), "-boom\r\n");
    assert_eq!(
        ev(&mut k, "return redis.error_reply('boom')"),
        "-ERR boom\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.error_reply('MY boom')"),
        "-MY boom\r\n"
    );
    assert_eq!(ev(&mut k, "return redis.status_reply('fine')"), "+fine\r\n");
}

#[test]
fn conversions_resp_to_lua() {
    let mut k = Kit::new();
    k.run(&["SET", "str", "abc"]);
    assert_eq!(ev(&mut k, "return redis.call('get','nokey')"), "$-1\r\n");
    assert_eq!(
        ev(&mut k, "return type(redis.call('get','nokey'))"),
        "$7\r\nboolean\r\n"
    );
    assert_eq!(ev(&mut k, "return redis.call('ping')"), "+PONG\r\n");
    assert_eq!(
        ev(&mut k, "return redis.call('get','str')"),
        "$3\r\nabc\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.call('incr','str')"),
        "-ERR value is not an integer or out of range script: 851ab5c4815573433b8c8eed0a889f947a2e885a, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.pcall('incr','str')"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        ev(
            &mut k,
            "return redis.call('set',1.5,2.25) and redis.call('get',1.5)"
        ),
        "$4\r\n2.25\r\n"
    );
    assert_eq!(
        ev(
            &mut k,
            "return redis.call('set','f',0.1) and redis.call('get','f')"
        ),
        "$19\r\n0.10000000000000001\r\n"
    );
}

#[test]
fn errors_like_redis() {
    let mut k = Kit::new();
    assert_eq!(
        ev(&mut k, "return x"),
        "-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 03c387736bb5cc009ff35151572cee04677aa374, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "x=1"),
        "-ERR user_script:1: Attempt to modify a readonly table script: 7caf6056913504f0508c65faf2dc3f94ff65bcfd, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.call('nosuch')"),
        "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.call()"),
        "-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "error('boom')"),
        "-ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return 1 + {}"),
        "-ERR user_script:1: attempt to perform arithmetic on a table value script: 8ab7d53c27e34dc602fbe3688d99968c695c98e4, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return redis.call('set','a')"),
        "-ERR Wrong number of args calling Redis command from script script: 68990c26510f449300ea04360b77feec1f073cc8, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "rawset(_G,'x',1) return x"),
        "-ERR Attempt to modify a readonly table script: eae11c0375163fe1c4ff4d972df572fe0a10d22b, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "error({err='XX tbl'})"),
        "-XX tbl script: 71edb564b8ecb7cd6acf9f1abeeaf2540ca9a492, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "return pairs(nil)"),
        "-ERR user_script:1: bad argument #1 to 'pairs' (table expected, got nil) script: a535da6440828f635b77339d464e26606059706b, on @user_script:1.\r\n"
    );
    assert_eq!(
        ev(&mut k, "local a = 1\n\nlocal b = nil + 1"),
        "-ERR user_script:3: attempt to perform arithmetic on a nil value script: a3c8a1015a2a9fbcd6b5046553423171914c2907, on @user_script:3.\r\n"
    );
    assert_eq!(
        k.run(&["EVAL", "return (", "0"]),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
    assert_eq!(
        k.run(&["EVAL", "return 1", "-1"]),
        "-ERR Number of keys can't be negative\r\n"
    );
    assert_eq!(
        k.run(&["EVAL", "return 1", "3", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
}

#[test]
fn script_cache() {
    let mut k = Kit::new();
    assert_eq!(
        k.run(&["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(
        k.run(&["SCRIPT", "LOAD", "return 1"]),
        "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n"
    );
    assert_eq!(
        k.run(&["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"]),
        ":1\r\n"
    );
    assert_eq!(
        k.run(&[
            "SCRIPT",
            "EXISTS",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
            "x"
        ]),
        "*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(k.run(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert_eq!(
        k.run(&[
            "SCRIPT",
            "EXISTS",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        ]),
        "*1\r\n:0\r\n"
    );
}

#[test]
fn keys_argv_and_select() {
    let mut k = Kit::new();
    assert_eq!(
        k.run(&["EVAL", "return {KEYS, ARGV}", "2", "a", "b", "c"]),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        ev(
            &mut k,
            "redis.call('select',1) redis.call('set','indb1','x') return redis.call('get','indb1')"
        ),
        "$1\r\nx\r\n"
    );
    assert_eq!(k.run(&["GET", "indb1"]), "$-1\r\n");
}

#[test]
fn read_only_scripts() {
    let mut k = Kit::new();
    assert_eq!(
        k.run(&["EVAL_RO", "return redis.call('set','k','v')", "0"]),
        "-ERR Write commands are not allowed from read-only scripts. script: d223ed8c7345b684e8ed044ed472601f536fa58b, on @user_script:1.\r\n"
    );
    assert_eq!(
        k.run(&["EVAL_RO", "#!lua\nreturn 1", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        k.run(&["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"]),
        ":1\r\n"
    );
}

#[test]
fn random_sequence_like_redis() {
    let mut k = Kit::new();
    assert_eq!(
        ev(
            &mut k,
            "return {tostring(math.random()),tostring(math.random())}"
        ),
        "*2\r\n$16\r\n0.39646477363839\r\n$16\r\n0.84048536971234\r\n"
    );
}

#[test]
fn propagates_effects_in_multi() {
    let mut k = Kit::new();
    let rec = k.record();
    ev(
        &mut k,
        "redis.call('set','a','1') redis.call('set','b','2') return 1",
    );
    assert_eq!(rec.lines(), vec!["MULTI", "set a 1", "set b 2", "EXEC"]);
    let rec2 = k.record();
    let _ = rec.take();
    ev(&mut k, "redis.call('set','a','1') return 1");
    assert_eq!(rec2.lines(), vec!["set a 1"]);
}

#[test]
fn functions_basics() {
    let mut k = Kit::new();
    let lib = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys, args} end)\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}";
    assert_eq!(k.run(&["FUNCTION", "LOAD", lib]), "$5\r\nmylib\r\n");
    assert_eq!(
        k.run(&["FCALL", "f1", "2", "k1", "k2", "a1"]),
        "*2\r\n*2\r\n$2\r\nk1\r\n$2\r\nk2\r\n*1\r\n$2\r\na1\r\n"
    );
    assert_eq!(
        k.run(&["FCALL", "f2", "1", "k1", "v"]),
        "-ERR Write commands are not allowed from read-only scripts. script: f2, on @user_function:3.\r\n"
    );
    assert_eq!(
        k.run(&["FCALL_RO", "f1", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        k.run(&["FUNCTION", "LIST"]),
        "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\nf2\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"
    );
    assert_eq!(
        k.run(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)"
        ]),
        "-ERR Library 'mylib' already exists\r\n"
    );
    assert_eq!(
        k.run(&["FUNCTION", "LOAD", "#!lua name=x\nredis.call('set','a','b')"]),
        "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"
    );
    let dump = {
        let _ = k
            .engine
            .execute(&mut k.sess, &[b"FUNCTION", b"DUMP"], &mut k.out);
        let b = k.out.buffer().split().freeze();
        let text = &b[..];
        let nl = text.iter().position(|&c| c == b'\n').unwrap();
        text[nl + 1..text.len() - 2].to_vec()
    };
    assert_eq!(k.run(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    assert_eq!(k.run(&["FCALL", "f1", "0"]), "-ERR Function not found\r\n");
    assert_eq!(k.run_bytes(&[b"FUNCTION", b"RESTORE", &dump]), "+OK\r\n");
    assert_eq!(k.run(&["FCALL", "F1", "0"]), "*2\r\n*0\r\n*0\r\n");
    assert_eq!(
        k.run(&["FUNCTION", "RESTORE", "garbage"]),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    assert_eq!(k.run(&["FUNCTION", "DELETE", "mylib"]), "+OK\r\n");
    assert_eq!(
        k.run(&["FUNCTION", "DELETE", "mylib"]),
        "-ERR Library not found\r\n"
    );
}

#[test]
fn busy_state_and_script_kill() {
    let mut admin = Kit::new();
    assert_eq!(
        admin.run(&["CONFIG", "SET", "lua-time-limit", "20"]),
        "+OK\r\n"
    );
    assert!(!admin.engine.scripting.busy());
    let engine = admin.engine.clone();
    let runner = std::thread::spawn(move || {
        let mut k = Kit::with_engine(engine);
        k.run(&["EVAL", "while true do end", "0"])
    });
    let start = std::time::Instant::now();
    while !admin.engine.scripting.busy() {
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(
        admin.engine.scripting.busy_error(),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    let running = admin.engine.scripting.running_script().expect("running");
    assert_eq!(running.name.len(), 40);
    assert_eq!(running.command[0], "EVAL");
    assert_eq!(admin.run(&["SCRIPT", "KILL"]), "+OK\r\n");
    let reply = runner.join().unwrap();
    assert!(reply.starts_with("-ERR Script killed by user with SCRIPT KILL..."));
    assert!(!admin.engine.scripting.busy());
    assert_eq!(
        admin.run(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
}

#[test]
fn keys_and_argv_are_fresh_each_run() {
    let mut k = Kit::new();
    let check = "return {#KEYS, #ARGV, tostring(KEYS.foo), tostring(ARGV[7]), KEYS[1]}";
    assert_eq!(
        k.run(&[
            "EVAL",
            "KEYS[5]='x'; KEYS.foo=1; setmetatable(ARGV, {__index=function() return 'm' end}); return 1",
            "1",
            "a",
            "b",
        ]),
        ":1\r\n"
    );
    assert_eq!(
        k.run(&["EVAL", check, "1", "k"]),
        "*5\r\n:1\r\n:0\r\n$3\r\nnil\r\n$3\r\nnil\r\n$1\r\nk\r\n"
    );
    // A list that grew past what is cleared in place is replaced.
    assert_eq!(
        ev(
            &mut k,
            "for i = 1, 1000 do KEYS[i] = i; ARGV['x'..i] = i end return 1"
        ),
        ":1\r\n"
    );
    assert_eq!(
        k.run(&["EVAL", check, "0", "z"]),
        "*4\r\n:0\r\n:1\r\n$3\r\nnil\r\n$3\r\nnil\r\n"
    );
    assert_eq!(
        k.run(&[
            "EVAL",
            "return {KEYS[1], KEYS[2], ARGV[1]}",
            "2",
            "p",
            "q",
            "r"
        ]),
        "*3\r\n$1\r\np\r\n$1\r\nq\r\n$1\r\nr\r\n"
    );
}
