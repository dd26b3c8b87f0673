//! Newtype identifiers, so a subnet id can never be passed where a VPC id is expected.
//!
//! ```
//! use netmodel::ids::VpcId;
//!
//! let vpc = VpcId::from("vpc-a");
//! assert_eq!((vpc.as_str(), vpc.to_string()), ("vpc-a", "vpc-a".to_string()));
//! // In JSON an id is its text.
//! assert_eq!(serde_json::to_string(&vpc).unwrap(), r#""vpc-a""#);
//! ```
//!
//! The types keep kinds of id apart:
//!
//! ```compile_fail,E0308
//! use netmodel::ids::{SubnetId, VpcId};
//!
//! fn peer_with(_vpc: &VpcId) {}
//! peer_with(&SubnetId::from("subnet-a")); // error: expected `&VpcId`, found `&SubnetId`
//! ```

use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    )*};
}

id_type!(
    /// An account (owner of VPCs), e.g. `acct-a` or an AWS account number.
    AccountId,
    /// A VPC, e.g. `vpc-a`.
    VpcId,
    /// A subnet.
    SubnetId,
    /// A route table.
    RouteTableId,
    /// A security group.
    SecurityGroupId,
    /// A network ACL.
    NetworkAclId,
    /// An endpoint: a resource that sends and receives traffic.
    EndpointId,
    /// A gateway attached to a VPC.
    GatewayId,
    /// A peering connection, e.g. `pcx-ab`.
    PeeringId,
);
