-- sla_chats: one row per chat: how long the visitor waited for the first answer (chat start
-- to the first employee message) and how long the chat lasted (start + duration_s), each in
-- calendar seconds and in business seconds of the chat's schedule (department's, else
-- site's, else the default: schedule_assignments), against the chat_first_answer target of
-- sla_targets (the department's, else the site's, else the general one).
-- first_answer_status: 'met' / 'breached' (answered within / beyond the target, counted on
-- the target's clock); 'unanswered_breached' (never answered, the visitor waited past the
-- target before the chat ended); 'abandoned' (never answered, ended within the target).
-- Business seconds come from business_intervals: F(t) = seconds_before + the part of the
-- interval starting at or before t that lies before t (an ASOF join); F(b) - F(a) is the
-- working time in [a, b). See sql/README.md, "Business time".
WITH first_answer AS (
    SELECT account, chat_id, min(created_at) AS first_answered_at
    FROM chat_messages
    WHERE sender_type = 'employee'
    GROUP BY account, chat_id
),
chat AS (
    SELECT
        c.account, c.chat_id, c.conversation_id, c.site_id, c.department_id, c.employee_id,
        c.created_at,
        f.first_answered_at,
        to_timestamp((epoch_us(c.created_at) + c.duration_s * 1000000) / 1000000) AS ended_at,
        coalesce(d.schedule, s.schedule, a.schedule) AS schedule
    FROM chats c
    LEFT JOIN first_answer f USING (account, chat_id)
    LEFT JOIN schedule_assignments d ON d.account = c.account AND d.scope = 'department' AND d.department_id = c.department_id
    LEFT JOIN schedule_assignments s ON s.account = c.account AND s.scope = 'site' AND s.site_id = c.site_id
    LEFT JOIN schedule_assignments a ON a.account = c.account AND a.scope = 'default'
    WHERE c.created_at IS NOT NULL
),
instant AS (
    SELECT account, chat_id, schedule, 'created' AS what, created_at AS t FROM chat
    UNION ALL
    SELECT account, chat_id, schedule, 'answered', first_answered_at FROM chat WHERE first_answered_at IS NOT NULL
    UNION ALL
    SELECT account, chat_id, schedule, 'ended', ended_at FROM chat WHERE ended_at IS NOT NULL
),
worked AS (
    SELECT
        x.account,
        x.chat_id,
        x.what,
        coalesce(i.seconds_before + least(i.seconds, (epoch_us(x.t) - epoch_us(i.start_utc)) // 1000000), 0) AS f
    FROM instant x
    ASOF LEFT JOIN business_intervals i ON i.account = x.account AND i.schedule = x.schedule AND x.t >= i.start_utc
),
business AS (
    SELECT
        account,
        chat_id,
        max(f) FILTER (WHERE what = 'created')  AS f_created,
        max(f) FILTER (WHERE what = 'answered') AS f_answered,
        max(f) FILTER (WHERE what = 'ended')    AS f_ended
    FROM worked
    GROUP BY account, chat_id
),
target AS (
    SELECT c.account, c.chat_id, t.target_s, t.clock
    FROM chat c
    JOIN sla_targets t
      ON t.account = c.account
     AND t.metric = 'chat_first_answer'
     AND (t.department_id IS NULL OR t.department_id = c.department_id)
     AND (t.site_id IS NULL OR t.site_id = c.site_id)
    QUALIFY row_number() OVER (
        PARTITION BY c.account, c.chat_id
        ORDER BY t.department_id IS NOT NULL DESC, t.site_id IS NOT NULL DESC
    ) = 1
),
measured AS (
    SELECT
        c.account,
        c.chat_id,
        c.conversation_id,
        CAST(make_timestamp(epoch_us(c.created_at)) AS DATE)             AS day_utc,
        c.site_id,
        c.department_id,
        c.employee_id,
        c.schedule,
        c.created_at,
        c.first_answered_at,
        (epoch_us(c.first_answered_at) - epoch_us(c.created_at)) // 1000000 AS first_answer_calendar_s,
        b.f_answered - b.f_created                                       AS first_answer_business_s,
        c.ended_at,
        (epoch_us(c.ended_at) - epoch_us(c.created_at)) // 1000000      AS duration_calendar_s,
        b.f_ended - b.f_created                                          AS duration_business_s,
        t.target_s                                                       AS first_answer_target_s,
        t.clock                                                          AS first_answer_clock
    FROM chat c
    JOIN business b USING (account, chat_id)
    LEFT JOIN target t USING (account, chat_id)
)
SELECT
    *,
    CASE
        WHEN first_answer_target_s IS NULL THEN NULL
        WHEN first_answered_at IS NOT NULL THEN
            CASE WHEN (CASE first_answer_clock WHEN 'business' THEN first_answer_business_s ELSE first_answer_calendar_s END)
                      <= first_answer_target_s THEN 'met' ELSE 'breached' END
        WHEN (CASE first_answer_clock WHEN 'business' THEN duration_business_s ELSE duration_calendar_s END)
             > first_answer_target_s THEN 'unanswered_breached'
        ELSE 'abandoned'
    END AS first_answer_status
FROM measured
