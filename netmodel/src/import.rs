//! Importers from other tools' formats into a [`crate::Plan`]: [`aws`] reads `aws ec2 describe-*` JSON.
//!
//! ```
//! use netmodel::import::aws::{import, SourceFile};
//!
//! // `aws ec2 describe-vpcs` as saved under an account/region folder; the region comes from the path.
//! let vpcs = SourceFile {
//!     path: "111122223333/eu-west-1/vpcs.json".into(),
//!     text: r#"{"Vpcs": [{"VpcId": "vpc-0a", "CidrBlock": "10.0.0.0/16", "OwnerId": "111122223333",
//!                         "Tags": [{"Key": "Name", "Value": "prod"}]}]}"#
//!         .into(),
//! };
//! let imported = import(&[vpcs])?;
//! let vpc = &imported.plan.vpcs[0];
//! assert_eq!((vpc.id.as_str(), vpc.name.as_str(), vpc.region.as_str()), ("vpc-0a", "prod", "eu-west-1"));
//! assert_eq!(vpc.account.as_str(), "111122223333");
//!
//! // A file that is not AWS JSON is an error naming it.
//! let bad = SourceFile { path: "notes.json".into(), text: "[1, 2]".into() };
//! assert!(import(&[bad]).unwrap_err().to_string().starts_with("notes.json: "));
//! # Ok::<(), netmodel::import::aws::ImportError>(())
//! ```

pub mod aws;
mod borrowed;
mod typed;
