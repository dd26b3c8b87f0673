//! Importers from other tools' formats into a [`crate::Plan`].

pub mod aws;
