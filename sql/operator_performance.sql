-- operator_performance: one row per employee who took part in a conversation, answered a chat
-- or a call, or received a complaint. Names come from the employees dimension (latest snapshot).
WITH handled AS (
    SELECT account, employee_id, count(DISTINCT conversation_id) AS conversations
    FROM conversation_employees
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
),
chat_stats AS (
    SELECT
        account,
        employee_id,
        count(*)                                            AS chats,
        count(*) FILTER (WHERE result = 'missed')           AS missed_chats,
        avg(first_answer_time_s)                            AS avg_first_answer_time_s,
        avg(answer_time_avg_s)                              AS avg_answer_time_s,
        count(*) FILTER (WHERE visitor_vote = 'positive')   AS positive_votes,
        count(*) FILTER (WHERE visitor_vote = 'negative')   AS negative_votes
    FROM chats
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
),
call_stats AS (
    SELECT account, employee_id, count(*) AS calls
    FROM calls
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
),
complaint_stats AS (
    SELECT account, employee_id, count(*) AS complaints
    FROM complaints
    WHERE employee_id IS NOT NULL
    GROUP BY account, employee_id
),
ids AS (
    SELECT account, employee_id FROM handled
    UNION SELECT account, employee_id FROM chat_stats
    UNION SELECT account, employee_id FROM call_stats
    UNION SELECT account, employee_id FROM complaint_stats
)
SELECT
    ids.account,
    ids.employee_id,
    e.first_name,
    e.last_name,
    coalesce(h.conversations, 0)                AS conversations,
    coalesce(c.chats, 0)                        AS chats,
    coalesce(c.missed_chats, 0)                 AS missed_chats,
    coalesce(k.calls, 0)                        AS calls,
    round(c.avg_first_answer_time_s, 1)         AS avg_first_answer_time_s,
    round(c.avg_answer_time_s, 1)               AS avg_answer_time_s,
    coalesce(c.positive_votes, 0)               AS positive_votes,
    coalesce(c.negative_votes, 0)               AS negative_votes,
    coalesce(p.complaints, 0)                   AS complaints
FROM ids
LEFT JOIN employees e       ON e.account = ids.account AND e.employee_id = ids.employee_id
LEFT JOIN handled h         ON h.account = ids.account AND h.employee_id = ids.employee_id
LEFT JOIN chat_stats c      ON c.account = ids.account AND c.employee_id = ids.employee_id
LEFT JOIN call_stats k      ON k.account = ids.account AND k.employee_id = ids.employee_id
LEFT JOIN complaint_stats p ON p.account = ids.account AND p.employee_id = ids.employee_id
ORDER BY ids.account, conversations DESC, ids.employee_id
