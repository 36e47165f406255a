//! A minimal authoritative DNS server on loopback for the verification tests: it answers
//! TXT questions from a map the test fills, and NXDOMAIN for anything else. Built on
//! hickory-proto's message codec; UDP only (the answers are small).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;

/// TXT records by lower-case domain name (without the trailing dot).
#[derive(Clone, Default)]
pub struct Zone(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Zone {
    pub fn publish(&self, domain: &str, value: &str) {
        self.0
            .lock()
            .unwrap()
            .entry(domain.to_owned())
            .or_default()
            .push(value.to_owned());
    }
}

pub struct DnsServer {
    pub addr: SocketAddr,
    pub zone: Zone,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    /// Binds UDP port 0 on 127.0.0.1 and answers until dropped.
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Zone::default();
        let records = zone.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(request) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                let answer = respond(&request, &records);
                if let Ok(bytes) = answer.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        Self { addr, zone, task }
    }
}

fn respond(request: &Message, zone: &Zone) -> Message {
    let mut answer = Message::new();
    answer
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_authoritative(true)
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true);
    let mut found = false;
    for query in request.queries() {
        answer.add_query(query.clone());
        let name = query.name().to_ascii().trim_end_matches('.').to_lowercase();
        if query.query_type() != RecordType::TXT {
            continue;
        }
        let values = zone
            .0
            .lock()
            .unwrap()
            .get(&name)
            .cloned()
            .unwrap_or_default();
        for value in values {
            found = true;
            answer.add_answer(Record::from_rdata(
                query.name().clone(),
                60,
                RData::TXT(TXT::new(vec![value])),
            ));
        }
    }
    answer.set_response_code(if found {
        ResponseCode::NoError
    } else {
        ResponseCode::NXDomain
    });
    answer
}
