"""Cases: a piece of work on a subject (a trip today; referrals and incidents later) with an
assignee, a status, notes and the history of every decision, one model for all of them."""
