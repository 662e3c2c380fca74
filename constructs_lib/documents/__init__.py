"""The documents: pure builders of the JSON the constructs hand to AWS (the state machine's ASL,
IAM policies, execution input, event patterns) and of the review page. Import the model only, no
cdktf; tested without jsii."""
