//! Newtype identifiers, so a subnet id can never be passed where a VPC id is expected.

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
