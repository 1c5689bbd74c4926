//! Items this code cannot decode (written by a migration, an operator, a benchmark, or the next
//! version with a status this one does not know) reach the publisher through the stream among
//! real orders. Each is dead-lettered once, with its keys, and counted; nothing waits behind it.
//!
//! `among_orders.rs` writes them among real orders and times every change, `retries.rs` checks
//! the batch retries; `items.rs` makes the items and `dead_letters.rs` reads back what became of
//! them.

mod among_orders;
mod dead_letters;
mod items;
mod retries;
