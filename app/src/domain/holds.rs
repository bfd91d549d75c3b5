//! What a component's status is: derived, by one rule, from everything that holds it (the
//! admin's own setting, open incidents, running maintenance, failing monitors). Every write that
//! touches one of those holders re-derives the status with [`derive_component_status`], so no
//! write path can leave a component behind (a monitor's recovery cannot clear an incident's
//! outage; deleting a failing monitor releases its hold).

use super::incident::{IncidentKind, IncidentStatus};
use super::status::ComponentStatus;
use super::uptime::rank;

/// One incident or maintenance linked to the component, with the status it gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// Incident or maintenance.
    pub kind: IncidentKind,
    /// Where it is in its lifecycle.
    pub status: IncidentStatus,
    /// The status it gives the component while it holds it.
    pub gives: ComponentStatus,
    /// An update named the component explicitly (not only the form that opened it).
    pub named: bool,
}

impl Hold {
    /// Whether it holds the component now: an open incident, or a maintenance whose window is
    /// running. A scheduled maintenance holds only the components an update named (work that
    /// starts early, e.g. draining traffic before the window); a closed one holds nothing.
    pub fn holds(&self) -> bool {
        match self.status {
            IncidentStatus::InProgress | IncidentStatus::Verifying => true,
            IncidentStatus::Scheduled => self.named,
            s => self.kind == IncidentKind::Incident && s.is_open(),
        }
    }
}

/// Everything that may hold one component, read in one snapshot inside the write's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHolds {
    /// The status an admin set by hand (or a closing update left it at).
    pub manual: ComponentStatus,
    /// Incidents and maintenance linked to it (closed ones are ignored by the rule).
    pub holds: Vec<Hold>,
    /// How many of its monitors are failing.
    pub failing_monitors: usize,
}

/// The status a component shows: the worst of the admin's setting, what each open incident or
/// running maintenance gives it (`under_maintenance` unless an update said otherwise), and
/// `major_outage` while a monitor fails. "Worst" follows [`rank`]: operational, under
/// maintenance, degraded performance, partial outage, major outage; so a monitor failing during
/// planned work still shows (as it always has), and an incident opened during the work too.
pub fn derive_component_status(h: &ComponentHolds) -> ComponentStatus {
    let active = || h.holds.iter().filter(|x| x.holds());
    let monitors = (h.failing_monitors > 0).then_some(ComponentStatus::MajorOutage);
    std::iter::once(h.manual)
        .chain(active().map(|x| x.gives))
        .chain(monitors)
        .max_by_key(|s| rank(*s))
        .unwrap_or(h.manual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;
    use IncidentKind::{Incident as Inc, Maintenance as Mnt};
    use IncidentStatus::*;

    fn hold(kind: IncidentKind, status: IncidentStatus, gives: ComponentStatus) -> Hold {
        Hold {
            kind,
            status,
            gives,
            named: false,
        }
    }

    #[test]
    fn derivation_table() {
        let cases: &[(&str, ComponentStatus, &[Hold], usize, ComponentStatus)] = &[
            ("nothing holds it", Operational, &[], 0, Operational),
            (
                "the admin's own setting",
                PartialOutage,
                &[],
                0,
                PartialOutage,
            ),
            ("a failing monitor", Operational, &[], 1, MajorOutage),
            ("two failing monitors", Operational, &[], 2, MajorOutage),
            (
                "an open incident",
                Operational,
                &[hold(Inc, Investigating, DegradedPerformance)],
                0,
                DegradedPerformance,
            ),
            (
                "a resolved incident holds nothing",
                Operational,
                &[hold(Inc, Resolved, MajorOutage)],
                0,
                Operational,
            ),
            (
                "a postmortem holds nothing",
                Operational,
                &[hold(Inc, Postmortem, MajorOutage)],
                0,
                Operational,
            ),
            (
                "the worst of two incidents",
                Operational,
                &[
                    hold(Inc, Monitoring, PartialOutage),
                    hold(Inc, Identified, DegradedPerformance),
                ],
                0,
                PartialOutage,
            ),
            (
                "an incident's outage outlives a monitor's recovery",
                Operational,
                &[hold(Inc, Investigating, MajorOutage)],
                0,
                MajorOutage,
            ),
            (
                "a failing monitor is worse than a degraded incident",
                Operational,
                &[hold(Inc, Investigating, DegradedPerformance)],
                1,
                MajorOutage,
            ),
            (
                "the incident is worse than the admin's setting",
                DegradedPerformance,
                &[hold(Inc, Investigating, PartialOutage)],
                0,
                PartialOutage,
            ),
            (
                "the admin's setting is worse than the incident",
                MajorOutage,
                &[hold(Inc, Investigating, PartialOutage)],
                0,
                MajorOutage,
            ),
            (
                "an incident that says operational",
                Operational,
                &[hold(Inc, Monitoring, Operational)],
                0,
                Operational,
            ),
            (
                "a scheduled maintenance holds nothing yet",
                Operational,
                &[hold(Mnt, Scheduled, UnderMaintenance)],
                0,
                Operational,
            ),
            (
                "a scheduled maintenance whose update named the component",
                Operational,
                &[Hold {
                    named: true,
                    ..hold(Mnt, Scheduled, UnderMaintenance)
                }],
                0,
                UnderMaintenance,
            ),
            (
                "a completed maintenance that had named it early",
                Operational,
                &[Hold {
                    named: true,
                    ..hold(Mnt, Completed, UnderMaintenance)
                }],
                0,
                Operational,
            ),
            (
                "a running maintenance",
                Operational,
                &[hold(Mnt, InProgress, UnderMaintenance)],
                0,
                UnderMaintenance,
            ),
            (
                "a maintenance being verified",
                Operational,
                &[hold(Mnt, Verifying, UnderMaintenance)],
                0,
                UnderMaintenance,
            ),
            (
                "a completed maintenance holds nothing",
                Operational,
                &[hold(Mnt, Completed, UnderMaintenance)],
                0,
                Operational,
            ),
            (
                "a monitor failing during planned work still shows",
                Operational,
                &[hold(Mnt, InProgress, UnderMaintenance)],
                1,
                MajorOutage,
            ),
            (
                "a monitor failing after the work completed is news",
                Operational,
                &[hold(Mnt, Completed, UnderMaintenance)],
                1,
                MajorOutage,
            ),
            (
                "an incident during planned work still shows",
                Operational,
                &[
                    hold(Mnt, InProgress, UnderMaintenance),
                    hold(Inc, Investigating, PartialOutage),
                ],
                0,
                PartialOutage,
            ),
            (
                "a degraded setting outranks maintenance",
                DegradedPerformance,
                &[hold(Mnt, InProgress, UnderMaintenance)],
                0,
                DegradedPerformance,
            ),
        ];
        for (what, manual, holds, failing, want) in cases {
            let h = ComponentHolds {
                manual: *manual,
                holds: holds.to_vec(),
                failing_monitors: *failing,
            };
            assert_eq!(derive_component_status(&h), *want, "{what}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn status() -> impl Strategy<Value = ComponentStatus> {
            prop::sample::select(ComponentStatus::ALL.to_vec())
        }
        fn hold_s() -> impl Strategy<Value = Hold> {
            (
                prop::bool::ANY,
                prop::sample::select(IncidentStatus::INCIDENT.to_vec()),
                prop::sample::select(IncidentStatus::MAINTENANCE.to_vec()),
                status(),
                prop::bool::ANY,
            )
                .prop_map(|(inc, si, sm, gives, named)| Hold {
                    named,
                    ..if inc {
                        hold(Inc, si, gives)
                    } else {
                        hold(Mnt, sm, gives)
                    }
                })
        }

        proptest! {
            /// Never better than the admin's setting or any open incident, and closed holds
            /// never matter.
            #[test]
            fn never_better_than_a_holder(
                manual in status(),
                holds in prop::collection::vec(hold_s(), 0..6),
                failing in 0usize..3,
            ) {
                let h = ComponentHolds { manual, holds: holds.clone(), failing_monitors: failing };
                let got = derive_component_status(&h);
                prop_assert!(rank(got) >= rank(manual));
                for x in holds.iter().filter(|x| x.holds()) {
                    prop_assert!(rank(got) >= rank(x.gives));
                }
                let open_only = ComponentHolds {
                    holds: holds.iter().copied().filter(Hold::holds).collect(),
                    ..h
                };
                prop_assert_eq!(derive_component_status(&open_only), got);
            }
        }
    }
}
