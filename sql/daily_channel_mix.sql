-- daily_channel_mix: one row per UTC day x site x department x widget_type (the entry point
-- of the conversation, '(none)' when the API sent none): channel_mix for any period and filter.
SELECT
    account,
    CAST(make_timestamp(epoch_us(created_at)) AS DATE)                         AS day_utc,
    site_id,
    department_id,
    coalesce(widget_type, '(none)')                                     AS widget_type,
    count(*)                                                            AS conversations,
    count(*) FILTER (WHERE result = 'success')                          AS successful,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads
FROM conversations
GROUP BY ALL
ORDER BY account, day_utc, site_id, department_id NULLS FIRST, widget_type
