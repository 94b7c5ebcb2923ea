-- sla_leads: one row per lead (offline request): time to answer (created_at to completed_at),
-- in calendar and in business seconds of the lead's schedule (department's, else site's,
-- else the default), against the lead_answer target of sla_targets (the department's, else
-- the site's, else the general one). answer_status: 'met' / 'breached' (answered within /
-- beyond the target, on the target's clock); 'open_breached' (not answered, and the target
-- had passed when ltx last read the lead: _synced_at); 'open' (not answered, still within
-- the target then). open_* columns measure the wait of an open lead up to _synced_at.
-- Business seconds: the ASOF pattern over business_intervals (sql/README.md, "Business time").
WITH lead AS (
    SELECT
        l.account, l.lead_id, l.conversation_id, l.site_id, l.department_id,
        coalesce(l.completed_by_id, l.assigned_to_id) AS employee_id,
        l.created_at,
        l.completed_at AS answered_at,
        l._synced_at,
        coalesce(d.schedule, s.schedule, a.schedule) AS schedule
    FROM leads l
    LEFT JOIN schedule_assignments d ON d.account = l.account AND d.scope = 'department' AND d.department_id = l.department_id
    LEFT JOIN schedule_assignments s ON s.account = l.account AND s.scope = 'site' AND s.site_id = l.site_id
    LEFT JOIN schedule_assignments a ON a.account = l.account AND a.scope = 'default'
    WHERE l.created_at IS NOT NULL
),
instant AS (
    SELECT account, lead_id, schedule, 'created' AS what, created_at AS t FROM lead
    UNION ALL
    SELECT account, lead_id, schedule, 'answered', answered_at FROM lead WHERE answered_at IS NOT NULL
    UNION ALL
    SELECT account, lead_id, schedule, 'synced', _synced_at FROM lead WHERE answered_at IS NULL
),
worked AS (
    SELECT
        x.account,
        x.lead_id,
        x.what,
        coalesce(i.seconds_before + least(i.seconds, (epoch_us(x.t) - epoch_us(i.start_utc)) // 1000000), 0) AS f
    FROM instant x
    ASOF LEFT JOIN business_intervals i ON i.account = x.account AND i.schedule = x.schedule AND x.t >= i.start_utc
),
business AS (
    SELECT
        account,
        lead_id,
        max(f) FILTER (WHERE what = 'created')  AS f_created,
        max(f) FILTER (WHERE what = 'answered') AS f_answered,
        max(f) FILTER (WHERE what = 'synced')   AS f_synced
    FROM worked
    GROUP BY account, lead_id
),
target AS (
    SELECT l.account, l.lead_id, t.target_s, t.clock
    FROM lead l
    JOIN sla_targets t
      ON t.account = l.account
     AND t.metric = 'lead_answer'
     AND (t.department_id IS NULL OR t.department_id = l.department_id)
     AND (t.site_id IS NULL OR t.site_id = l.site_id)
    QUALIFY row_number() OVER (
        PARTITION BY l.account, l.lead_id
        ORDER BY t.department_id IS NOT NULL DESC, t.site_id IS NOT NULL DESC
    ) = 1
),
measured AS (
    SELECT
        l.account,
        l.lead_id,
        l.conversation_id,
        CAST(make_timestamp(epoch_us(l.created_at)) AS DATE)           AS day_utc,
        l.site_id,
        l.department_id,
        l.employee_id,
        l.schedule,
        l.created_at,
        l.answered_at,
        (epoch_us(l.answered_at) - epoch_us(l.created_at)) // 1000000 AS answer_calendar_s,
        b.f_answered - b.f_created                                     AS answer_business_s,
        CASE WHEN l.answered_at IS NULL
             THEN (epoch_us(l._synced_at) - epoch_us(l.created_at)) // 1000000 END AS open_calendar_s,
        b.f_synced - b.f_created                                       AS open_business_s,
        t.target_s                                                     AS answer_target_s,
        t.clock                                                        AS answer_clock
    FROM lead l
    JOIN business b USING (account, lead_id)
    LEFT JOIN target t USING (account, lead_id)
)
SELECT
    *,
    CASE
        WHEN answer_target_s IS NULL THEN NULL
        WHEN answered_at IS NOT NULL THEN
            CASE WHEN (CASE answer_clock WHEN 'business' THEN answer_business_s ELSE answer_calendar_s END)
                      <= answer_target_s THEN 'met' ELSE 'breached' END
        WHEN (CASE answer_clock WHEN 'business' THEN open_business_s ELSE open_calendar_s END)
             > answer_target_s THEN 'open_breached'
        ELSE 'open'
    END AS answer_status
FROM measured
