#!/usr/bin/env bash
# Runs the four tiny recipes briefly (deterministic kernels, data parallel off) and prints
# the sha256 of what each one writes: the final model files, the last checkpoint's
# trainer state (a torch archive by the multiset of its tensors: it orders them by memory
# address), and metrics.jsonl without its timing fields. Two trees that train the
# same way print the same lines, so a refactor of the trainers is checked with
#
#   scripts/recipe-outputs.sh build/bin/flywheel > before.txt   # on the old tree
#   scripts/recipe-outputs.sh build/bin/flywheel > after.txt    # on the new tree
#   diff before.txt after.txt
#
# Needs runs/synth (make demo's first command) and python3. About 2 minutes on 2 cores.
set -euo pipefail
bin=${1:-build/bin/flywheel}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
synth=runs/synth
test -f $synth/train.jsonl || "$bin" synth --out $synth --n 12000 --seed 1 --max-difficulty 1 --heldout-by problem >/dev/null
common=(deterministic=true checkpoint.every_steps=5 checkpoint.resume=never log_every_steps=1)

run() {  # name, command...
  local name=$1; shift
  "$@" >"$out/$name.log" 2>&1 || { echo "$name failed:" >&2; tail -20 "$out/$name.log" >&2; exit 1; }
}
run sft "$bin" sft configs/sft/tiny.yaml output_dir=$out/sft "${common[@]}" train.max_steps=12 \
  data.max_examples=400 eval.prompts=$synth/heldout.jsonl eval.max_prompts=16 \
  eval.every_steps=6
run dpo "$bin" dpo configs/dpo/tiny.yaml output_dir=$out/dpo model.path=$out/sft/final "${common[@]}" \
  train.max_steps=8 data.max_examples=256 dpo.precompute_ref_logps=false dpo.rpo_alpha=0.5
run rm "$bin" rm configs/rm/tiny.yaml output_dir=$out/rm model.path=$out/sft/final "${common[@]}" \
  train.max_steps=8 data.max_examples=256
run ppo "$bin" ppo configs/ppo/tiny.yaml output_dir=$out/ppo model.path=$out/sft/final \
  ppo.reward_model_path=$out/rm/final "${common[@]}" train.max_steps=6 data.max_examples=64 ppo.batch_size=8 \
  ppo.ppo_epochs=2 ppo.max_new_tokens=12 eval.max_prompts=16 eval.every_steps=3

for name in sft dpo rm ppo; do
  dir=$out/$name
  for f in $(cd "$dir" && find final "$(ls -d checkpoint-* | tail -1)" -type f \
               \( -name '*.safetensors' -o -name '*.pt' -o -name '*.json' -o -name '*.model' \) \
               ! -name 'manifest.json' | sort); do
    if [[ $f == *.pt ]]; then  # a torch archive: its tensors, in an order keyed by memory addresses
      echo "$name $f(tensors) $(python3 -c 'import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
parts = sorted(hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if "/data/" in n and not n.endswith("serialization_id"))
print(hashlib.sha256("".join(parts).encode()).hexdigest()[:16])' "$dir/$f")"
    else
      echo "$name $f $(sha256sum "$dir/$f" | cut -c1-16)"
    fi
  done
  python3 - "$dir/metrics.jsonl" "$name" <<'EOF'
import hashlib, json, sys
rows = []
for line in open(sys.argv[1]):
    row = json.loads(line)
    rows.append({k: v for k, v in row.items()
                 if not k.startswith("timing/") and "per_second" not in k})
digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
print(f"{sys.argv[2]} metrics.jsonl(no timings) {digest} ({len(rows)} rows)")
EOF
done
