-- sla_complaints: one row per complaint: time to the first employee action after it — the
-- first employee chat message or employee-attributed conversation event of the same
-- conversation at or after the complaint's created_at — in calendar and in business seconds
-- of the complaint's schedule, against the complaint_first_action target of sla_targets.
-- A complaint whose conversation shows no such action has NULL first_action_at;
-- action_status is then 'open_breached' or 'open' by the wait up to _synced_at (when ltx last
-- read it), as in sla_leads. Business seconds: the ASOF pattern over business_intervals.
WITH complaint AS (
    SELECT
        c.account, c.complaint_id, c.conversation_id, c.site_id, c.department_id, c.employee_id,
        c.created_at, c._synced_at,
        coalesce(d.schedule, s.schedule, a.schedule) AS schedule
    FROM complaints c
    LEFT JOIN schedule_assignments d ON d.account = c.account AND d.scope = 'department' AND d.department_id = c.department_id
    LEFT JOIN schedule_assignments s ON s.account = c.account AND s.scope = 'site' AND s.site_id = c.site_id
    LEFT JOIN schedule_assignments a ON a.account = c.account AND a.scope = 'default'
    WHERE c.created_at IS NOT NULL
),
employee_action AS (
    SELECT account, conversation_id, created_at FROM chat_messages
    WHERE sender_type = 'employee' AND created_at IS NOT NULL
    UNION ALL
    SELECT account, conversation_id, created_at FROM conversation_events
    WHERE employee_id IS NOT NULL AND created_at IS NOT NULL
),
first_action AS (
    SELECT c.account, c.complaint_id, min(a.created_at) AS first_action_at
    FROM complaint c
    JOIN employee_action a
      ON a.account = c.account AND a.conversation_id = c.conversation_id AND a.created_at >= c.created_at
    GROUP BY c.account, c.complaint_id
),
acted AS (
    SELECT c.*, f.first_action_at
    FROM complaint c
    LEFT JOIN first_action f USING (account, complaint_id)
),
instant AS (
    SELECT account, complaint_id, schedule, 'created' AS what, created_at AS t FROM acted
    UNION ALL
    SELECT account, complaint_id, schedule, 'acted', first_action_at FROM acted WHERE first_action_at IS NOT NULL
    UNION ALL
    SELECT account, complaint_id, schedule, 'synced', _synced_at FROM acted WHERE first_action_at IS NULL
),
worked AS (
    SELECT
        x.account,
        x.complaint_id,
        x.what,
        coalesce(i.seconds_before + least(i.seconds, (epoch_us(x.t) - epoch_us(i.start_utc)) // 1000000), 0) AS f
    FROM instant x
    ASOF LEFT JOIN business_intervals i ON i.account = x.account AND i.schedule = x.schedule AND x.t >= i.start_utc
),
business AS (
    SELECT
        account,
        complaint_id,
        max(f) FILTER (WHERE what = 'created') AS f_created,
        max(f) FILTER (WHERE what = 'acted')   AS f_acted,
        max(f) FILTER (WHERE what = 'synced')  AS f_synced
    FROM worked
    GROUP BY account, complaint_id
),
target AS (
    SELECT c.account, c.complaint_id, t.target_s, t.clock
    FROM acted c
    JOIN sla_targets t
      ON t.account = c.account
     AND t.metric = 'complaint_first_action'
     AND (t.department_id IS NULL OR t.department_id = c.department_id)
     AND (t.site_id IS NULL OR t.site_id = c.site_id)
    QUALIFY row_number() OVER (
        PARTITION BY c.account, c.complaint_id
        ORDER BY t.department_id IS NOT NULL DESC, t.site_id IS NOT NULL DESC
    ) = 1
),
measured AS (
    SELECT
        c.account,
        c.complaint_id,
        c.conversation_id,
        CAST(make_timestamp(epoch_us(c.created_at)) AS DATE)               AS day_utc,
        c.site_id,
        c.department_id,
        c.employee_id,
        c.schedule,
        c.created_at,
        c.first_action_at,
        (epoch_us(c.first_action_at) - epoch_us(c.created_at)) // 1000000 AS first_action_calendar_s,
        b.f_acted - b.f_created                                            AS first_action_business_s,
        CASE WHEN c.first_action_at IS NULL
             THEN (epoch_us(c._synced_at) - epoch_us(c.created_at)) // 1000000 END AS open_calendar_s,
        b.f_synced - b.f_created                                           AS open_business_s,
        t.target_s                                                         AS action_target_s,
        t.clock                                                            AS action_clock
    FROM acted c
    JOIN business b USING (account, complaint_id)
    LEFT JOIN target t USING (account, complaint_id)
)
SELECT
    *,
    CASE
        WHEN action_target_s IS NULL THEN NULL
        WHEN first_action_at IS NOT NULL THEN
            CASE WHEN (CASE action_clock WHEN 'business' THEN first_action_business_s ELSE first_action_calendar_s END)
                      <= action_target_s THEN 'met' ELSE 'breached' END
        WHEN (CASE action_clock WHEN 'business' THEN open_business_s ELSE open_calendar_s END)
             > action_target_s THEN 'open_breached'
        ELSE 'open'
    END AS action_status
FROM measured
