-- Gateways a route can target (internet igw_…, NAT nat_…, VPN vgw_…, gateway endpoint vpce_…), each in one
-- VPC; a route to a gateway must name one of its table's VPC.
CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX gateways_account ON gateways (account_id, id);
CREATE INDEX gateways_vpc ON gateways (vpc_id);
