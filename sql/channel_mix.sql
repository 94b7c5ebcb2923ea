-- channel_mix: one row per widget_type (the entry point of the conversation:
-- auto, api, invite, label, sound-label, button, sound-button; '(none)' when the API sent none).
SELECT
    account,
    coalesce(widget_type, '(none)')                                         AS widget_type,
    count(*)                                                                AS conversations,
    round(count(*) / sum(count(*)) OVER (PARTITION BY account), 4)                              AS share,
    round(count(*) FILTER (WHERE result = 'success') / count(*), 4)         AS success_rate,
    round(avg(duration_s), 1)                                               AS avg_duration_s,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads
FROM conversations
GROUP BY account, coalesce(widget_type, '(none)')
ORDER BY account, conversations DESC, widget_type
