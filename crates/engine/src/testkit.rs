//! In-process helpers for unit tests: an engine, a session, and `run` returning the raw RESP
//! reply, so command logic is tested without sockets.

use std::sync::Arc;

use parking_lot::Mutex;

use flint_protocol::ReplyWriter;

use crate::config::Config;
use crate::engine::{unix_ms, Engine, Propagate};
use crate::session::Session;

/// An engine and one client session.
pub struct Kit {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The session.
    pub sess: Session,
    /// The reply writer (RESP2 unless switched).
    pub out: ReplyWriter,
}

impl Kit {
    /// A fresh engine with default configuration.
    pub fn new() -> Self {
        let engine = Arc::new(Engine::new(Config::new()).expect("engine"));
        Self::with_engine(engine)
    }

    /// Another client of the same engine.
    pub fn with_engine(engine: Arc<Engine>) -> Self {
        let handle = engine
            .clients
            .register(None, None, unix_ms(), Box::new(|| {}));
        let sess = Session::new(handle, true);
        Kit {
            engine,
            sess,
            out: ReplyWriter::new(false),
        }
    }

    /// Runs a command given as words; returns the raw reply text.
    pub fn run(&mut self, words: &[&str]) -> String {
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.run_bytes(&args)
    }

    /// Runs a command given as byte arguments; returns the raw reply text.
    pub fn run_bytes(&mut self, args: &[&[u8]]) -> String {
        let _ = self.engine.execute(&mut self.sess, args, &mut self.out);
        let text = String::from_utf8_lossy(&self.out.buffer()[..]).into_owned();
        self.out.buffer().clear();
        text
    }
}

/// Collects what the engine propagates, as `(db, words)`.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<(usize, Vec<String>)>>);

impl Propagate for Recorder {
    fn propagate(&self, db: usize, args: &[&[u8]]) {
        let words = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        self.0.lock().push((db, words));
    }
}

impl Recorder {
    /// Removes and returns the records so far, as words.
    pub fn take(&self) -> Vec<Vec<String>> {
        std::mem::take(&mut *self.0.lock())
            .into_iter()
            .map(|(_, w)| w)
            .collect()
    }

    /// The records so far, each as one space-joined line.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().iter().map(|(_, w)| w.join(" ")).collect()
    }

    /// The records so far as `(db, line)`.
    pub fn lines_with_db(&self) -> Vec<(usize, String)> {
        self.0
            .lock()
            .iter()
            .map(|(d, w)| (*d, w.join(" ")))
            .collect()
    }
}

impl Kit {
    /// Starts recording what this kit's engine propagates.
    pub fn record(&self) -> Arc<Recorder> {
        let r = Arc::new(Recorder::default());
        self.engine.add_propagator(r.clone());
        r
    }
}

/// The RESP2 text of an integer reply.
pub fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// The RESP2 text of a bulk string reply.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

impl Default for Kit {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_roundtrip() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["SET", "a", "1"]), "+OK\r\n");
        assert_eq!(k.run(&["GET", "a"]), "$1\r\n1\r\n");
        assert_eq!(k.run(&["GET", "nope"]), "$-1\r\n");
        assert_eq!(
            k.run(&["get"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
    }
}
