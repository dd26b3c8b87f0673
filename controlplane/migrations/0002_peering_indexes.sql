-- The quota checks count a VPC's active peerings and an account's pending requests.
CREATE INDEX peerings_requester_vpc ON peerings (requester_vpc_id, status);
CREATE INDEX peerings_accepter_vpc ON peerings (accepter_vpc_id, status);
CREATE INDEX peerings_requester_status ON peerings (requester_account_id, status);
