"""The model: ``jobs.toml``'s validated value objects and the pure rules they follow (cron and
rate schedules, retry policies, Fargate sizes, AWS names). Imports no cdktf and nothing from the
other layers; tested without jsii."""
