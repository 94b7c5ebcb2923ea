-- lead_funnel: one row per UTC day (of the lead's created_at) x lead_type x site x department
-- (the lead's own site_id and department_id).
-- Time to completion = completed_at - created_at in seconds, over completed leads only.
WITH l AS (
    SELECT
        account,
        CAST(make_timestamp(epoch_us(created_at)) AS DATE) AS day_utc,
        coalesce(lead_type, '(none)')                   AS lead_type,
        site_id,
        department_id,
        result,
        CASE WHEN completed_at IS NOT NULL THEN
            date_diff('second', make_timestamp(epoch_us(created_at)), make_timestamp(epoch_us(completed_at)))
        END                                             AS time_to_completion_s
    FROM leads
)
SELECT
    account,
    day_utc,
    lead_type,
    site_id,
    department_id,
    count(*)                                                                AS leads,
    count(*) FILTER (WHERE result = 'completed')                            AS completed,
    round(count(*) FILTER (WHERE result = 'completed') / count(*), 4)       AS completion_rate,
    round(avg(time_to_completion_s) FILTER (WHERE result = 'completed'), 1) AS avg_time_to_completion_s,
    median(time_to_completion_s) FILTER (WHERE result = 'completed')        AS median_time_to_completion_s
FROM l
GROUP BY ALL
ORDER BY account, day_utc, lead_type, site_id NULLS FIRST, department_id NULLS FIRST
