//! The agent engine: pure functions from an agent definition and a ticket's data to a decision.
//! Live detection, `POST /aiAgent/{id}/preview` and the quality check's replay all call these
//! same functions; whatever touches the outside world happens after, through the effects the
//! decision lists.

pub mod conditions;
pub mod definition;
pub mod params;
pub mod phases;
pub mod value;
