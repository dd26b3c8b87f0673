-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only, timestamps as Unix milliseconds.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE vpcs (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    cidr_block TEXT NOT NULL,
    secondary_cidr_blocks TEXT NOT NULL,
    ipv6_cidr_blocks TEXT NOT NULL,
    main_route_table_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX vpcs_account ON vpcs (account_id, id);

CREATE TABLE subnets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    cidr_block TEXT NOT NULL,
    availability_zone TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX subnets_vpc ON subnets (vpc_id);

CREATE TABLE route_tables (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    main BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX route_tables_vpc ON route_tables (vpc_id);

CREATE TABLE routes (
    route_table_id TEXT NOT NULL REFERENCES route_tables (id),
    destination_cidr TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (route_table_id, destination_cidr)
);
CREATE INDEX routes_target ON routes (target);

CREATE TABLE peerings (
    id TEXT PRIMARY KEY,
    requester_account_id TEXT NOT NULL REFERENCES accounts (id),
    accepter_account_id TEXT NOT NULL REFERENCES accounts (id),
    requester_vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    accepter_vpc_id TEXT NOT NULL REFERENCES vpcs (id),
    requester_region TEXT NOT NULL,
    accepter_region TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    pair_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- One live (pending or active) peering per VPC pair, enforced by the database even under concurrency.
CREATE UNIQUE INDEX peerings_live_pair ON peerings (pair_key) WHERE status IN ('pending', 'active');
CREATE INDEX peerings_requester ON peerings (requester_account_id, id);
CREATE INDEX peerings_accepter ON peerings (accepter_account_id, id);
CREATE INDEX peerings_pending ON peerings (status, expires_at);

CREATE TABLE idempotency (
    account_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
