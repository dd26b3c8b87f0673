//! Undo and redo for the planner: snapshots of the plan before each edit (plans are small; a snapshot is
//! simpler and safer than inverse operations), bounded so a long session does not grow without end.

use netmodel::Plan;

/// How many edits can be undone.
pub const DEPTH: usize = 200;

/// The undo and redo stacks.
#[derive(Clone, Debug, Default)]
pub struct History {
    undo: Vec<Plan>,
    redo: Vec<Plan>,
}

impl History {
    /// Records the plan as it was before an edit; a new edit clears what could be redone.
    pub fn record(&mut self, before: Plan) {
        if self.undo.last() == Some(&before) {
            return;
        }
        self.undo.push(before);
        if self.undo.len() > DEPTH {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// The plan to go back to, given the current one (which becomes redoable).
    pub fn undo(&mut self, current: Plan) -> Option<Plan> {
        let previous = self.undo.pop()?;
        self.redo.push(current);
        Some(previous)
    }

    /// The plan to go forward to, given the current one (which becomes undoable again).
    pub fn redo(&mut self, current: Plan) -> Option<Plan> {
        let next = self.redo.pop()?;
        self.undo.push(current);
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str) -> Plan {
        Plan::new(name)
    }

    #[test]
    fn undo_then_redo_walks_back_and_forth_and_a_new_edit_drops_the_redo() {
        let mut h = History::default();
        h.record(plan("a"));
        h.record(plan("b"));
        assert_eq!(h.undo(plan("c")).unwrap().name, "b");
        assert_eq!(h.undo(plan("b")).unwrap().name, "a");
        assert!(h.undo(plan("a")).is_none());
        assert_eq!(h.redo(plan("a")).unwrap().name, "b");
        h.record(plan("b"));
        assert!(!h.can_redo());
        assert!(h.can_undo());
    }

    #[test]
    fn depth_is_bounded() {
        let mut h = History::default();
        for i in 0..DEPTH + 10 {
            h.record(plan(&i.to_string()));
        }
        let mut n = 0;
        let mut oldest = String::new();
        while let Some(p) = h.undo(plan("now")) {
            oldest = p.name;
            n += 1;
        }
        assert_eq!(n, DEPTH);
        assert_eq!(oldest, "10");
    }
}
