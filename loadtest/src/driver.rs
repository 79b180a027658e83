//! The per-thread generator loop, shared by every backend: issue queries (closed loop:
//! whenever a slot is free; open loop: on a fixed schedule), hand them to the transport,
//! match what comes back and expire what does not.

use crate::flight::Flight;
use crate::stats::{Progress, Stats};
use crate::transport::{Event, Transport};
use crate::workload::QuerySource;
use std::io;
use std::time::Instant;

/// How one thread paces and bounds its queries.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Open-loop rate for this thread in queries per second; `None` is closed loop.
    pub rate: Option<f64>,
    /// Stop after issuing this many queries.
    pub count: Option<u64>,
    /// Stop issuing after this long (always set: the hard cap).
    pub duration_ns: u64,
    /// A query unanswered this long is a timeout and its slot is reclaimed.
    pub timeout_ns: u64,
}

/// How often the loop wakes even when idle, to publish progress.
const TICK_NS: u64 = 100_000_000;

/// Runs one thread's workload to completion and returns its counters.
pub fn drive(
    t: &mut dyn Transport,
    flight: &mut Flight,
    src: &mut QuerySource,
    plan: &Plan,
    epoch: Instant,
    progress: &Progress,
) -> io::Result<Stats> {
    let now_ns = || epoch.elapsed().as_nanos() as u64;
    let mut stats = Stats::new();
    let start = now_ns();
    let end = start.saturating_add(plan.duration_ns);
    let limit = plan.count.unwrap_or(u64::MAX);
    let mut issued = 0u64;
    let mut sending = true;
    let mut send_end = start;
    let mut last_answer = start;
    loop {
        let now = now_ns();
        if sending && (now >= end || issued >= limit) {
            sending = false;
            send_end = now;
        }
        if sending {
            let target = match plan.rate {
                None => limit,
                // The first query goes at t=0, query k at k/rate.
                Some(r) => ((((now - start) as f64) * r / 1e9) as u64 + 1).min(limit),
            };
            while issued < target {
                let Some(slot) = flight.begin(now, src) else {
                    if plan.rate.is_some() {
                        stats.overflow += 1;
                        issued += 1;
                        continue;
                    }
                    break;
                };
                let (p, l) = flight.packet_raw(slot);
                let (sock, token) = (flight.socket_of(slot), flight.token(slot));
                // SAFETY: the packet lives in the flight table, which neither moves nor
                // rewrites an in-flight slot before the next poll returns.
                if !unsafe { t.queue(sock, p, l, token) } {
                    // Batch full: push it out (no waiting), then retry once.
                    let mut bn = None;
                    t.poll(0, 1, &mut |ev| {
                        on_event(ev, flight, &mut stats, &mut last_answer, &mut bn, &now_ns)
                    })?;
                    // SAFETY: the packet lives in the flight table, which neither moves nor
                    // rewrites an in-flight slot before the next poll returns.
                    if !unsafe { t.queue(sock, p, l, token) } {
                        flight.abort(token);
                        stats.send_errors += 1;
                        issued += 1;
                        break;
                    }
                }
                issued += 1;
                stats.sent += 1;
            }
        }
        flight.expire(now, plan.timeout_ns, &mut stats);
        if !sending && (flight.live() == 0 || now >= send_end + plan.timeout_ns + TICK_NS) {
            break;
        }
        let mut wake = flight
            .next_deadline(plan.timeout_ns)
            .unwrap_or(u64::MAX)
            .min(now + TICK_NS);
        if sending {
            wake = wake.min(end);
            match plan.rate {
                Some(r) => wake = wake.min(start + (issued as f64 * 1e9 / r) as u64),
                None if flight.free() > 0 && issued < limit => wake = now,
                None => {}
            }
        }
        let mut bn = None;
        // Closed loop: ask for a batch of a quarter of the window (bounded wait).
        let batch = if plan.rate.is_none() {
            (flight.live() / 4).clamp(1, 64)
        } else {
            1
        };
        t.poll(wake.saturating_sub(now), batch, &mut |ev| {
            on_event(ev, flight, &mut stats, &mut last_answer, &mut bn, &now_ns)
        })?;
        progress.publish(&stats);
    }
    stats.elapsed_ns = send_end.max(last_answer) - start;
    progress.publish(&stats);
    Ok(stats)
}

/// Applies one transport event to the flight table. The clock is read once per poll
/// batch, at the first response.
fn on_event(
    ev: Event<'_>,
    flight: &mut Flight,
    stats: &mut Stats,
    last: &mut u64,
    batch_now: &mut Option<u64>,
    now_ns: &dyn Fn() -> u64,
) {
    match ev {
        Event::Response { socket, data } => {
            let now = *batch_now.get_or_insert_with(now_ns);
            if let crate::flight::Match::Answered(_) = flight.on_response(socket, data, now, stats)
            {
                *last = now;
            }
        }
        Event::SendError { token } => {
            if flight.abort(token) {
                stats.send_errors += 1;
            }
        }
        Event::RecvError => stats.recv_errors += 1,
    }
}
