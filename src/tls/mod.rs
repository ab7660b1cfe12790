//! TLS: shunt's certificate authority and leaf minting ([`ca`]), and the trust kit
//! written for application containers ([`kit`]).

pub mod ca;
pub mod keylog;
pub mod kit;
