//! Helpers for end-to-end tests that run the real `admit` binary, on SQLite or on PostgreSQL:
//! where a deployment keeps its data and how its nodes start ([`deployment`]), what the demo
//! seeds ([`demo`]), the child
//! processes ([`process`]), talking to them as a buyer ([`http`]; [`browser`] in a waiting
//! room), a crowd of buyers ([`crowd`]), direct SQL on either backend ([`db`]), what a crash
//! left open ([`settle`]), the invariant checker ([`invariants`]), and the gate terminal
//! binary ([`terminal`]).

pub mod browser;
pub mod crowd;
pub mod db;
pub mod demo;
pub mod deployment;
pub mod http;
pub mod invariants;
pub mod process;
pub mod settle;
pub mod terminal;
