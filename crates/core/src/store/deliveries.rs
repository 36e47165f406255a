//! Webhook endpoints, deliveries and the delivery worker's claims as stored.
