-- sla_operators: one row per operator (the chat's employee_id): chats with a first-answer
-- target, how many met and breached it, attainment, and the median and 90th percentile of the
-- first answer in business and in calendar seconds (answered chats); then leads answered by
-- them (completed_by, else assigned_to) with their attainment. Names from employees.
WITH chat AS (
    SELECT
        account,
        employee_id,
        count(*) FILTER (WHERE first_answer_status IS NOT NULL)                     AS chats,
        count(*) FILTER (WHERE first_answer_status = 'met')                         AS chats_met,
        count(*) FILTER (WHERE first_answer_status IN ('breached', 'unanswered_breached')) AS chats_breached,
        round(quantile_cont(first_answer_business_s, 0.5), 1)                               AS median_first_answer_business_s,
        round(quantile_cont(first_answer_business_s, 0.9), 1)                               AS p90_first_answer_business_s,
        round(quantile_cont(first_answer_calendar_s, 0.5), 1)                               AS median_first_answer_calendar_s,
        round(quantile_cont(first_answer_calendar_s, 0.9), 1)                               AS p90_first_answer_calendar_s
    FROM sla_chats
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
),
lead AS (
    SELECT
        account,
        employee_id,
        count(*) FILTER (WHERE answer_status IS NOT NULL)                  AS leads,
        count(*) FILTER (WHERE answer_status = 'met')                      AS leads_met,
        count(*) FILTER (WHERE answer_status IN ('breached', 'open_breached')) AS leads_breached
    FROM sla_leads
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
)
SELECT
    account,
    employee_id,
    trim(concat_ws(' ', e.first_name, e.last_name))                       AS employee_name,
    coalesce(c.chats, 0)                                                  AS chats,
    coalesce(c.chats_met, 0)                                              AS chats_met,
    coalesce(c.chats_breached, 0)                                         AS chats_breached,
    round(c.chats_met / nullif(c.chats_met + c.chats_breached, 0), 4)     AS chat_attainment,
    c.median_first_answer_business_s,
    c.p90_first_answer_business_s,
    c.median_first_answer_calendar_s,
    c.p90_first_answer_calendar_s,
    coalesce(l.leads, 0)                                                  AS leads,
    coalesce(l.leads_met, 0)                                              AS leads_met,
    coalesce(l.leads_breached, 0)                                         AS leads_breached,
    round(l.leads_met / nullif(l.leads_met + l.leads_breached, 0), 4)     AS lead_attainment
FROM chat c
FULL JOIN lead l USING (account, employee_id)
LEFT JOIN employees e USING (account, employee_id)
ORDER BY account, chats DESC, employee_id
