-- Indexes for the leaders' dashboard queries (KPIs, problem lists, freshness), chosen with the
-- dashboard benchmark (`cargo run --release -p server --example dashboard_bench`).

-- KPIs count problems created in a period by state, deadline and rating: a covering index
-- answers them without reading the wide rows.
CREATE INDEX problems_period ON problems (created_at, state, deadline, rating, enterprise, id);
-- Times to first response and sign-off group by problem: the same columns in id order.
CREATE INDEX problems_by_id_period ON problems (id, created_at, state, deadline);
-- Lists sort by deadline (then id); the flag list reads every candidate's state, deadline and
-- rating in that order, so the index covers them.
CREATE INDEX problems_deadline ON problems (deadline, id, state, rating, enterprise, created_at);
-- Overdue lists read open states with a passed deadline.
CREATE INDEX problems_state_deadline ON problems (state, deadline);
-- Department inboxes and department KPIs read problem ids by unit without the table.
CREATE INDEX problem_units_unit_problem ON problem_units (unit, problem);
-- First response, sign-off and look-back counts read applied events by action.
CREATE INDEX problem_events_kpi ON problem_events (action, applied, problem, at);
-- Visit coverage counts visits in a period.
CREATE INDEX visits_device_time ON visits (device_time, enterprise);
-- Freshness lists officers by role and unit.
CREATE INDEX users_role_org_unit ON users (role, org_unit);
