//! The peering lifecycle, as pure functions the store calls: the status a new request starts in
//! ([`requested`]), what accepting, rejecting or deleting does to a peering ([`transition`]), and whether two
//! VPCs' blocks overlap ([`first_overlap`]). No SQL and no clock here: the store reads the peering, asks these,
//! and writes the answer with a guard that notices a concurrent change.
//!
//! The statuses and moves are the seed document's (`pending` → `active` when the accepter accepts, `rejected`
//! when it declines, `expired` when nobody accepts in time, `failed` when the blocks overlap; `auto_accept`
//! within one account starts `active`), plus AWS's deletion: either owner deletes an active peering, the
//! requester withdraws a pending request.
//!
//! ```
//! use controlplane::lifecycle::{transition, Action, Actor, Refusal};
//! use netmodel::model::PeeringStatus::*;
//! let expires_at = 1_000;
//! assert_eq!(transition(Pending, expires_at, Actor::Accepter, Action::Accept, 10), Ok(Active));
//! assert_eq!(transition(Pending, expires_at, Actor::Requester, Action::Accept, 10), Err(Refusal::NotAccepter));
//! // Past its expiry a pending request is expired, whatever the database says yet.
//! assert_eq!(transition(Pending, expires_at, Actor::Accepter, Action::Accept, 1_000), Err(Refusal::NotPending(Expired)));
//! ```

use netmodel::{cidr::Cidr, model::PeeringStatus};

/// The caller's side of a peering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The requester's account (not the accepter's).
    Requester,
    /// The accepter's account (not the requester's).
    Accepter,
    /// Both: a peering between two VPCs of one account.
    Both,
}

impl Actor {
    /// The side of `account` in a peering between these accounts; `None` when it is neither.
    pub fn of(account: &str, requester_account: &str, accepter_account: &str) -> Option<Actor> {
        match (account == requester_account, account == accepter_account) {
            (true, true) => Some(Actor::Both),
            (true, false) => Some(Actor::Requester),
            (false, true) => Some(Actor::Accepter),
            (false, false) => None,
        }
    }

    fn is_accepter(self) -> bool {
        matches!(self, Actor::Accepter | Actor::Both)
    }

    fn is_requester(self) -> bool {
        matches!(self, Actor::Requester | Actor::Both)
    }
}

/// What the caller asks of an existing peering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
    Delete,
}

impl Action {
    /// The verb, as messages say it.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Delete => "delete",
        }
    }
}

/// Why a move is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Accepting or rejecting by the requester's account: only the accepter's decides (403).
    NotAccepter,
    /// Accepting or rejecting a peering that is not pending (409 `PEERING_NOT_PENDING`); its status.
    NotPending(PeeringStatus),
    /// Deleting a pending request by the accepter's account, which rejects it instead (403).
    AccepterDeletesPending,
    /// Deleting a peering that is neither pending nor active (409 `PEERING_NOT_DELETABLE`); its status.
    NotDeletable(PeeringStatus),
}

/// The status at `now` of a peering stored with `status`: a pending request whose expiry has come
/// (`expires_at <= now`) is expired, whether or not the store has written that yet.
pub fn status_at(status: PeeringStatus, expires_at: i64, now: i64) -> PeeringStatus {
    if status == PeeringStatus::Pending && expires_at <= now {
        PeeringStatus::Expired
    } else {
        status
    }
}

/// The status a new request starts in: `failed` when the VPCs' blocks overlap, `active` when auto-accepted
/// (allowed within one account only; the store checks that first), else `pending`.
pub fn requested(overlap: bool, auto_accept: bool) -> PeeringStatus {
    match (overlap, auto_accept) {
        (true, _) => PeeringStatus::Failed,
        (false, true) => PeeringStatus::Active,
        (false, false) => PeeringStatus::Pending,
    }
}

/// One move of the lifecycle: the new status of a peering stored with `status` (and `expires_at`) when `actor`
/// asks for `action` at `now`, or why not. Accepting and rejecting are the accepter's, and only while pending
/// (the side is checked first: the requester learns nothing from a 409); deleting is either owner's while
/// active, and the requester's while pending.
pub fn transition(
    status: PeeringStatus,
    expires_at: i64,
    actor: Actor,
    action: Action,
    now: i64,
) -> Result<PeeringStatus, Refusal> {
    use PeeringStatus::*;
    let status = status_at(status, expires_at, now);
    match action {
        Action::Accept | Action::Reject => {
            if !actor.is_accepter() {
                return Err(Refusal::NotAccepter);
            }
            if status != Pending {
                return Err(Refusal::NotPending(status));
            }
            Ok(if action == Action::Accept {
                Active
            } else {
                Rejected
            })
        }
        Action::Delete => match status {
            Active => Ok(Deleted),
            Pending if actor.is_requester() => Ok(Deleted),
            Pending => Err(Refusal::AccepterDeletesPending),
            other => Err(Refusal::NotDeletable(other)),
        },
    }
}

/// The first overlapping pair of blocks, one of each side, in the order given (the requester's blocks outer):
/// two VPCs whose blocks overlap cannot peer.
pub fn first_overlap(requester: &[Cidr], accepter: &[Cidr]) -> Option<(Cidr, Cidr)> {
    requester
        .iter()
        .find_map(|a| accepter.iter().find(|b| a.overlaps(b)).map(|b| (*a, *b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netmodel::model::PeeringStatus::*;
    use Action::*;
    use Actor::*;
    use Refusal::*;

    const EXPIRES: i64 = 1_000;
    const BEFORE: i64 = 999;

    /// Every (stored status, actor, action) before the expiry, and what it gives.
    #[rustfmt::skip]
    const TABLE: &[(PeeringStatus, Actor, Action, Result<PeeringStatus, Refusal>)] = &[
        (Pending,  Requester, Accept, Err(NotAccepter)),
        (Pending,  Requester, Reject, Err(NotAccepter)),
        (Pending,  Requester, Delete, Ok(Deleted)),
        (Pending,  Accepter,  Accept, Ok(Active)),
        (Pending,  Accepter,  Reject, Ok(Rejected)),
        (Pending,  Accepter,  Delete, Err(AccepterDeletesPending)),
        (Pending,  Both,      Accept, Ok(Active)),
        (Pending,  Both,      Reject, Ok(Rejected)),
        (Pending,  Both,      Delete, Ok(Deleted)),
        (Active,   Requester, Accept, Err(NotAccepter)),
        (Active,   Requester, Reject, Err(NotAccepter)),
        (Active,   Requester, Delete, Ok(Deleted)),
        (Active,   Accepter,  Accept, Err(NotPending(Active))),
        (Active,   Accepter,  Reject, Err(NotPending(Active))),
        (Active,   Accepter,  Delete, Ok(Deleted)),
        (Active,   Both,      Accept, Err(NotPending(Active))),
        (Active,   Both,      Reject, Err(NotPending(Active))),
        (Active,   Both,      Delete, Ok(Deleted)),
        (Rejected, Requester, Accept, Err(NotAccepter)),
        (Rejected, Requester, Reject, Err(NotAccepter)),
        (Rejected, Requester, Delete, Err(NotDeletable(Rejected))),
        (Rejected, Accepter,  Accept, Err(NotPending(Rejected))),
        (Rejected, Accepter,  Reject, Err(NotPending(Rejected))),
        (Rejected, Accepter,  Delete, Err(NotDeletable(Rejected))),
        (Rejected, Both,      Accept, Err(NotPending(Rejected))),
        (Rejected, Both,      Reject, Err(NotPending(Rejected))),
        (Rejected, Both,      Delete, Err(NotDeletable(Rejected))),
        (Expired,  Requester, Accept, Err(NotAccepter)),
        (Expired,  Requester, Reject, Err(NotAccepter)),
        (Expired,  Requester, Delete, Err(NotDeletable(Expired))),
        (Expired,  Accepter,  Accept, Err(NotPending(Expired))),
        (Expired,  Accepter,  Reject, Err(NotPending(Expired))),
        (Expired,  Accepter,  Delete, Err(NotDeletable(Expired))),
        (Expired,  Both,      Accept, Err(NotPending(Expired))),
        (Expired,  Both,      Reject, Err(NotPending(Expired))),
        (Expired,  Both,      Delete, Err(NotDeletable(Expired))),
        (Failed,   Requester, Accept, Err(NotAccepter)),
        (Failed,   Requester, Reject, Err(NotAccepter)),
        (Failed,   Requester, Delete, Err(NotDeletable(Failed))),
        (Failed,   Accepter,  Accept, Err(NotPending(Failed))),
        (Failed,   Accepter,  Reject, Err(NotPending(Failed))),
        (Failed,   Accepter,  Delete, Err(NotDeletable(Failed))),
        (Failed,   Both,      Accept, Err(NotPending(Failed))),
        (Failed,   Both,      Reject, Err(NotPending(Failed))),
        (Failed,   Both,      Delete, Err(NotDeletable(Failed))),
        (Deleted,  Requester, Accept, Err(NotAccepter)),
        (Deleted,  Requester, Reject, Err(NotAccepter)),
        (Deleted,  Requester, Delete, Err(NotDeletable(Deleted))),
        (Deleted,  Accepter,  Accept, Err(NotPending(Deleted))),
        (Deleted,  Accepter,  Reject, Err(NotPending(Deleted))),
        (Deleted,  Accepter,  Delete, Err(NotDeletable(Deleted))),
        (Deleted,  Both,      Accept, Err(NotPending(Deleted))),
        (Deleted,  Both,      Reject, Err(NotPending(Deleted))),
        (Deleted,  Both,      Delete, Err(NotDeletable(Deleted))),
    ];

    /// A pending request at and after its expiry: it reads as expired, and nobody can accept, reject or delete it.
    #[rustfmt::skip]
    const EXPIRED_PENDING: &[(Actor, Action, Result<PeeringStatus, Refusal>)] = &[
        (Requester, Accept, Err(NotAccepter)),
        (Requester, Reject, Err(NotAccepter)),
        (Requester, Delete, Err(NotDeletable(Expired))),
        (Accepter,  Accept, Err(NotPending(Expired))),
        (Accepter,  Reject, Err(NotPending(Expired))),
        (Accepter,  Delete, Err(NotDeletable(Expired))),
        (Both,      Accept, Err(NotPending(Expired))),
        (Both,      Reject, Err(NotPending(Expired))),
        (Both,      Delete, Err(NotDeletable(Expired))),
    ];

    #[test]
    fn every_status_actor_and_action_before_expiry() {
        for (status, actor, action, expected) in TABLE {
            assert_eq!(
                transition(*status, EXPIRES, *actor, *action, BEFORE),
                *expected,
                "{status} {actor:?} {action:?}"
            );
        }
        // The table is complete: every status × actor × action once.
        assert_eq!(TABLE.len(), PeeringStatus::ALL.len() * 3 * 3);
        for status in PeeringStatus::ALL {
            for actor in [Requester, Accepter, Both] {
                for action in [Accept, Reject, Delete] {
                    let rows = TABLE
                        .iter()
                        .filter(|(s, a, x, _)| (*s, *a, *x) == (status, actor, action))
                        .count();
                    assert_eq!(rows, 1, "{status} {actor:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn a_pending_request_expires_at_its_expiry() {
        for now in [EXPIRES, EXPIRES + 1, i64::MAX] {
            for (actor, action, expected) in EXPIRED_PENDING {
                assert_eq!(
                    transition(Pending, EXPIRES, *actor, *action, now),
                    *expected,
                    "{actor:?} {action:?} at {now}"
                );
            }
        }
        // Expiry concerns pending requests only.
        assert_eq!(status_at(Active, EXPIRES, EXPIRES + 1), Active);
        assert_eq!(status_at(Pending, EXPIRES, BEFORE), Pending);
    }

    #[test]
    fn a_request_starts_failed_active_or_pending() {
        assert_eq!(requested(true, false), Failed);
        assert_eq!(requested(true, true), Failed);
        assert_eq!(requested(false, true), Active);
        assert_eq!(requested(false, false), Pending);
    }

    #[test]
    fn sides_of_a_peering() {
        assert_eq!(Actor::of("a", "a", "b"), Some(Requester));
        assert_eq!(Actor::of("b", "a", "b"), Some(Accepter));
        assert_eq!(Actor::of("a", "a", "a"), Some(Both));
        assert_eq!(Actor::of("c", "a", "b"), None);
    }

    #[test]
    fn overlap_is_the_first_overlapping_pair() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        let r = [c("10.0.0.0/16"), c("10.1.0.0/16")];
        assert_eq!(first_overlap(&r, &[c("172.16.0.0/16")]), None);
        assert_eq!(
            first_overlap(&r, &[c("172.16.0.0/16"), c("10.1.128.0/17")]),
            Some((c("10.1.0.0/16"), c("10.1.128.0/17")))
        );
        assert_eq!(
            first_overlap(&r, &[c("10.0.0.0/8")]),
            Some((c("10.0.0.0/16"), c("10.0.0.0/8")))
        );
        assert_eq!(first_overlap(&[c("fd00::/8")], &[c("10.0.0.0/8")]), None);
        assert_eq!(first_overlap(&[], &r), None);
    }
}
