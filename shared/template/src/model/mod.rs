//! template.yaml as a model: the parsed document (`document.rs`), the YAML helpers every reader
//! uses (`yaml.rs`), the specs of the resources the offline stack builds (`specs.rs`), and the
//! readers that fill them (`readers.rs`). The children import each other, never this file.

mod document;
mod readers;
mod specs;
mod yaml;

pub use document::{Template, TemplateError};
pub use specs::{
    ArchiveSpec, Authorizer, BusSpec, Function, IndexSpec, KeyAttribute, SecretSpec,
    StateMachineSpec, TableSpec,
};
pub(crate) use yaml::{get, list, referenced_id, text};
