//! Server-wide counters for INFO stats, updated with relaxed atomics from every connection.

use std::sync::atomic::{AtomicU64, Ordering};

/// INFO stats counters, named as Redis names them.
#[derive(Default, Debug)]
pub struct Stats {
    /// total_connections_received
    pub total_connections_received: AtomicU64,
    /// total_commands_processed
    pub total_commands_processed: AtomicU64,
    /// rejected_connections
    pub rejected_connections: AtomicU64,
    /// expired_keys
    pub expired_keys: AtomicU64,
    /// expired_stale_perc numerator: keys examined by active expiry
    pub expire_checked: AtomicU64,
    /// evicted_keys
    pub evicted_keys: AtomicU64,
    /// keyspace_hits
    pub keyspace_hits: AtomicU64,
    /// keyspace_misses
    pub keyspace_misses: AtomicU64,
    /// total_net_input_bytes
    pub net_input_bytes: AtomicU64,
    /// total_net_output_bytes
    pub net_output_bytes: AtomicU64,
    /// total_error_replies
    pub error_replies: AtomicU64,
    /// unexpected_error_replies / protocol errors
    pub protocol_errors: AtomicU64,
    /// Changes since start (the `dirty` counter of Redis; rdb_changes_since_last_save)
    pub dirty: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Reads a counter.
    #[inline]
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.expired_keys,
            &self.expire_checked,
            &self.evicted_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
            &self.protocol_errors,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
