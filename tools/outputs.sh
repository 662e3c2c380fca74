# Sourced by the tools that act on a deployed stack (run-job, test-alert, job-logs). Before sourcing:
# $command (the make target, for messages), $stack_dir, $terraform.
#
# The outputs are read once, as JSON: `terraform output -raw NAME` on a stack that was never
# deployed prints Terraform's "No outputs found" warning on stdout and exits 0, which a script
# would then take for the value.

fail() { echo "make $command: $*" >&2; exit 2; }

# need_tools: the AWS CLI and Terraform, each with where to get it.
need_tools() {
  command -v aws >/dev/null 2>&1 ||
    fail "needs the AWS CLI (v2): https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
  command -v "$terraform" >/dev/null 2>&1 ||
    fail "needs '$terraform' to read the stack's outputs: https://developer.hashicorp.com/terraform/install"
  [[ -f $stack_dir/cdk.tf.json ]] || fail "no synthesized stack in $stack_dir: run make synth, then make deploy"
  OUTPUTS=$("$terraform" -chdir="$stack_dir" output -json 2>/dev/null) || OUTPUTS='{}'
}

# stack_output NAME: the output's value (a string as it is, anything else as JSON), or stop with
# "deploy first" (exit 2) when the stack has no such output.
stack_output() {
  local value
  value=$(python3 -c '
import json, sys
outputs = json.loads(sys.stdin.read().strip() or "{}")
if sys.argv[1] not in outputs:
    sys.exit(3)
value = outputs[sys.argv[1]]["value"]
print(value if isinstance(value, str) else json.dumps(value))
' "$1" <<<"$OUTPUTS") ||
    fail "no output '$1' in $stack_dir: the stack is not deployed from here; deploy it first (make deploy)"
  printf '%s\n' "$value"
}

# job_output JOB KEY: one field of a job's entry in the `jobs` output (its state machine, its log
# group...), or stop naming the stack's jobs (exit 2).
job_output() {
  local jobs value
  jobs=$(stack_output jobs) || exit 2
  value=$(python3 -c '
import json, sys
jobs, job, key, command = json.loads(sys.stdin.read()), *sys.argv[1:]
if job not in jobs:
    sys.exit(f"make {command}: no job {job!r} in this stack (its jobs: {chr(44).join(sorted(jobs))})")
print(jobs[job][key])
' "$1" "$2" "$command" <<<"$jobs") || exit 2
  printf '%s\n' "$value"
}
