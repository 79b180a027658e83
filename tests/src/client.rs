//! A small DNS client on hickory-proto for raw UDP and TCP exchanges.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use crate::error::{HarnessError, Result};

static NEXT_ID: AtomicU16 = AtomicU16::new(0);

/// A fresh, per-process varying message ID.
pub fn next_id() -> u16 {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u16)
        .unwrap_or(0);
    NEXT_ID
        .fetch_add(7919, Ordering::Relaxed)
        .wrapping_add(seed)
}

/// Builds a query message with RD set; `name` keeps its exact case.
pub fn make_query(id: u16, name: &str, rtype: RecordType, class: DNSClass) -> Result<Message> {
    let name = Name::from_ascii(name).map_err(|e| HarnessError::Wire(format!("{name}: {e}")))?;
    let mut q = Query::query(name, rtype);
    q.set_query_class(class);
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(q);
    Ok(m)
}

/// Adds an EDNS OPT record advertising `payload` bytes, with the DO bit as given.
pub fn with_edns(mut m: Message, payload: u16, dnssec_ok: bool) -> Message {
    let mut e = Edns::new();
    e.set_max_payload(payload);
    e.set_dnssec_ok(dnssec_ok);
    m.set_edns(e);
    m
}

/// Encodes a message.
pub fn encode(m: &Message) -> Result<Vec<u8>> {
    m.to_vec().map_err(|e| HarnessError::Wire(e.to_string()))
}

/// Decodes a message.
pub fn decode(bytes: &[u8]) -> Result<Message> {
    Message::from_vec(bytes).map_err(|e| HarnessError::Wire(e.to_string()))
}

/// The strings of every TXT record in the answer section, concatenated per record.
pub fn txt_strings(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(""),
            ),
            _ => None,
        })
        .collect()
}

/// Answer records rendered as `name type rdata` (lowercase name, no TTL), sorted, for comparing
/// answers from two servers.
pub fn answer_set(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.name.to_ascii().to_lowercase(),
                r.record_type(),
                r.data
            )
        })
        .collect();
    v.sort();
    v
}

/// A UDP/TCP DNS client aimed at one server.
#[derive(Debug, Clone)]
pub struct DnsClient {
    server: SocketAddr,
    timeout: Duration,
}

impl DnsClient {
    /// A client for `server` with a 2 s timeout.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            timeout: Duration::from_secs(2),
        }
    }

    /// Sets the per-exchange timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The server this client talks to.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    fn udp_socket(&self) -> Result<UdpSocket> {
        let sock = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| HarnessError::io("bind client socket", e))?;
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| HarnessError::io("set_read_timeout", e))?;
        Ok(sock)
    }

    /// Sends raw bytes over UDP and returns the first datagram that comes back from the
    /// server within the timeout, or `None`.
    pub fn exchange_raw(&self, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
        let sock = self.udp_socket()?;
        sock.send_to(bytes, self.server)
            .map_err(|e| HarnessError::io(format!("send to {}", self.server), e))?;
        let mut buf = vec![0u8; 65535];
        let start = Instant::now();
        // Bounded: at most timeout / 50 ms iterations (plus one).
        while start.elapsed() < self.timeout {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == self.server => return Ok(Some(buf[..n].to_vec())),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                // ICMP port unreachable from a previous send: keep waiting for the deadline.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(HarnessError::io("recv", e)),
            }
        }
        Ok(None)
    }

    /// Sends `m` over UDP and waits for the response with the same ID.
    pub fn send(&self, m: &Message) -> Result<Message> {
        let bytes = encode(m)?;
        let (raw, _) = self.send_raw_matching(&bytes, m.metadata.id)?;
        decode(&raw)
    }

    /// Sends `bytes` over UDP; returns the raw response whose ID is `id`, and its length.
    pub fn send_raw_matching(&self, bytes: &[u8], id: u16) -> Result<(Vec<u8>, usize)> {
        let sock = self.udp_socket()?;
        sock.send_to(bytes, self.server)
            .map_err(|e| HarnessError::io(format!("send to {}", self.server), e))?;
        let mut buf = vec![0u8; 65535];
        let start = Instant::now();
        while start.elapsed() < self.timeout {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == self.server && n >= 2 => {
                    if u16::from_be_bytes([buf[0], buf[1]]) == id {
                        return Ok((buf[..n].to_vec(), n));
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(e) => return Err(HarnessError::io("recv", e)),
            }
        }
        Err(HarnessError::Timeout {
            server: self.server.to_string(),
            timeout: self.timeout,
        })
    }

    /// Queries `name`/`rtype` (class IN, RD set, no EDNS) over UDP.
    pub fn query(&self, name: &str, rtype: RecordType) -> Result<Message> {
        self.send(&make_query(next_id(), name, rtype, DNSClass::IN)?)
    }

    /// Queries a CHAOS TXT name (e.g. `hits.bind`) and returns its TXT strings.
    pub fn chaos_txt(&self, name: &str) -> Result<Vec<String>> {
        let m = self.send(&make_query(next_id(), name, RecordType::TXT, DNSClass::CH)?)?;
        Ok(m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned()),
                ),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// Queries `name`/`rtype` over UDP up to `tries` times (each bounded by the timeout) and
    /// returns the first response with rcode NOERROR or NXDOMAIN.
    pub fn query_retry(&self, name: &str, rtype: RecordType, tries: u32) -> Result<Message> {
        let mut last = Err(HarnessError::Timeout {
            server: self.server.to_string(),
            timeout: self.timeout,
        });
        for _ in 0..tries {
            last = self.query(name, rtype);
            if let Ok(m) = &last {
                if matches!(
                    m.metadata.response_code,
                    ResponseCode::NoError | ResponseCode::NXDomain
                ) {
                    return last;
                }
                // SERVFAIL/REFUSED: give the server a moment before the next try.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        last
    }

    /// Reads one numeric CHAOS TXT counter such as `hits.bind`.
    pub fn counter(&self, name: &str) -> Result<u64> {
        let strings = self.chaos_txt(name)?;
        let first = strings.first().ok_or_else(|| HarnessError::Parse {
            tool: "chaos txt".into(),
            reason: format!("{name}: no TXT answer"),
            output: String::new(),
        })?;
        first.trim().parse().map_err(|_| HarnessError::Parse {
            tool: "chaos txt".into(),
            reason: format!("{name}: not a number"),
            output: first.clone(),
        })
    }

    /// Opens a TCP connection to the server.
    pub fn tcp(&self) -> Result<TcpDns> {
        TcpDns::connect(self.server, self.timeout)
    }
}

/// One TCP connection carrying length-prefixed DNS messages (RFC 1035 §4.2.2).
#[derive(Debug)]
pub struct TcpDns {
    stream: TcpStream,
}

impl TcpDns {
    /// Connects with `timeout` for the connect and for every read and write.
    pub fn connect(server: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&server, timeout)
            .map_err(|e| HarnessError::io(format!("tcp connect {server}"), e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|_| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| HarnessError::io("tcp timeouts", e))?;
        Ok(Self { stream })
    }

    /// Writes one message with its 2-byte length prefix.
    pub fn write(&mut self, m: &Message) -> Result<()> {
        let bytes = encode(m)?;
        self.write_raw(&bytes)
    }

    /// Writes raw message bytes with a 2-byte length prefix.
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let len = u16::try_from(bytes.len()).map_err(|_| HarnessError::Wire("too long".into()))?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(bytes);
        self.stream
            .write_all(&framed)
            .map_err(|e| HarnessError::io("tcp write", e))
    }

    /// Reads one length-prefixed message.
    pub fn read(&mut self) -> Result<Message> {
        let mut len = [0u8; 2];
        self.stream
            .read_exact(&mut len)
            .map_err(|e| HarnessError::io("tcp read length", e))?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        self.stream
            .read_exact(&mut buf)
            .map_err(|e| HarnessError::io("tcp read message", e))?;
        decode(&buf)
    }

    /// Writes `m` and reads one response.
    pub fn exchange(&mut self, m: &Message) -> Result<Message> {
        self.write(m)?;
        self.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips_and_keeps_case() {
        let m = make_query(0x1234, "WwW.LaB.TeSt.", RecordType::A, DNSClass::IN).unwrap();
        let bytes = encode(&m).unwrap();
        assert_eq!(&bytes[..2], &[0x12, 0x34]);
        assert_eq!(bytes[2] & 0x01, 0x01, "RD set");
        assert_eq!(&bytes[13..16], b"WwW");
        let back = decode(&bytes).unwrap();
        assert!(back.queries[0].name.eq_case(&m.queries[0].name));
    }

    #[test]
    fn edns_sets_do_and_payload() {
        let m = with_edns(
            make_query(1, "a.test.", RecordType::A, DNSClass::IN).unwrap(),
            1232,
            true,
        );
        let back = decode(&encode(&m).unwrap()).unwrap();
        let e = back.edns.expect("edns");
        assert_eq!(e.max_payload(), 1232);
        assert!(e.flags().dnssec_ok);
    }
}
