"""Industry referrals to a Customs single point of contact: directory, intake, routing,
acknowledgement in working time, escalation and the workflow of each Customs copy."""
