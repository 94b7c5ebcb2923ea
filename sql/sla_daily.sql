-- sla_daily: SLA attainment per UTC day x metric x site x department x operator (the
-- employee_id of sla_chats / sla_leads / sla_complaints), over the items that have a target.
-- met / breached count items answered within / beyond the target plus those left unanswered
-- past it (unanswered_breached, open_breached); pending counts the rest (abandoned chats, open
-- leads and complaints still within the target). attainment = met / (met + breached), NULL
-- when nothing was decided. Sum attainment's parts, never average the ratio, across rows.
WITH item AS (
    SELECT account, day_utc, 'chat_first_answer' AS metric, site_id, department_id, employee_id,
           first_answer_status AS status, first_answer_business_s AS business_s,
           first_answer_calendar_s AS calendar_s
    FROM sla_chats WHERE first_answer_status IS NOT NULL
    UNION ALL
    SELECT account, day_utc, 'lead_answer', site_id, department_id, employee_id,
           answer_status, answer_business_s, answer_calendar_s
    FROM sla_leads WHERE answer_status IS NOT NULL
    UNION ALL
    SELECT account, day_utc, 'complaint_first_action', site_id, department_id, employee_id,
           action_status, first_action_business_s, first_action_calendar_s
    FROM sla_complaints WHERE action_status IS NOT NULL
)
SELECT
    account,
    day_utc,
    metric,
    site_id,
    department_id,
    employee_id,
    count(*)                                                                    AS items,
    count(*) FILTER (WHERE status = 'met')                                      AS met,
    count(*) FILTER (WHERE status IN ('breached', 'unanswered_breached', 'open_breached')) AS breached,
    count(*) FILTER (WHERE status IN ('abandoned', 'open'))                     AS pending,
    round(count(*) FILTER (WHERE status = 'met')
          / nullif(count(*) FILTER (WHERE status IN ('met', 'breached', 'unanswered_breached', 'open_breached')), 0), 4)
                                                                                AS attainment,
    CAST(sum(business_s) AS BIGINT)                                             AS business_s_sum,
    CAST(sum(calendar_s) AS BIGINT)                                             AS calendar_s_sum,
    count(business_s)                                                           AS answered
FROM item
GROUP BY ALL
ORDER BY account, day_utc, metric, site_id NULLS FIRST, department_id NULLS FIRST, employee_id NULLS FIRST
