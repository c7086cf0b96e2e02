;; Per-token statistics of a logits row in WebAssembly SIMD (kernel/engine/rowstats.ts is the JS side; the
;; build turns this file into rowstats-wasm.ts). Two passes over the raw row R and its processed copy W
;; (W = R with entries set to -inf by masks; only entries where W is finite count for W):
;;   pass1: the top-n of R (sorted, equal values keep the lower id first) and the first argmax of W; with $copy
;;          set it first writes W = R in the same pass (so the argmax is R's: masks come after);
;;   pass2: with m = max(R) and d = R - m: Z = sum e, T = sum e*d, ZW = sum e over finite W, where
;;          e = exp(d) (0 for d <= -80, as the JS expNeg), optionally storing e for sampling.
;; Sums are float64; exp is float32 (range reduction to 2^k * 2^f, |f| <= 1/2, degree-5 polynomial,
;; relative error ~2e-7 near d = 0, growing to ~5e-6 at d = -80 from the float32 range reduction, where e is e^-80
;; and adds nothing to Z). Everything is IEEE and deterministic: the same row gives the same bits everywhere.
(module
  (memory (export "memory") 1)
  ;; results at byte 0: f64 Z @0, T @8, ZW @16; i32 argmax(W) @24; i32 filled @28; top ids i32[64] @64;
  ;; top values f32[64] @320. Rows start at 1024 (the caller places them).
  (global $n (mut i32) (i32.const 5))
  (global $filled (mut i32) (i32.const 0))
  (global $thr (mut f32) (f32.const -inf))

  ;; insertion into the sorted top list (descending); equal values stay after the ones already there
  (func $ins (param $v f32) (param $id i32)
    (local $j i32)
    (if (i32.lt_s (global.get $filled) (global.get $n))
      (then (local.set $j (global.get $filled)) (global.set $filled (i32.add (global.get $filled) (i32.const 1))))
      (else (local.set $j (i32.sub (global.get $n) (i32.const 1)))))
    (block $done
      (loop $shift
        (br_if $done (i32.eqz (local.get $j)))
        (br_if $done (i32.eqz (f32.lt (f32.load offset=316 (i32.shl (local.get $j) (i32.const 2))) (local.get $v))))
        (f32.store offset=320 (i32.shl (local.get $j) (i32.const 2)) (f32.load offset=316 (i32.shl (local.get $j) (i32.const 2))))
        (i32.store offset=64 (i32.shl (local.get $j) (i32.const 2)) (i32.load offset=60 (i32.shl (local.get $j) (i32.const 2))))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $shift)))
    (f32.store offset=320 (i32.shl (local.get $j) (i32.const 2)) (local.get $v))
    (i32.store offset=64 (i32.shl (local.get $j) (i32.const 2)) (local.get $id))
    (if (i32.eq (global.get $filled) (global.get $n))
      (then (global.set $thr (f32.load offset=316 (i32.shl (global.get $n) (i32.const 2)))))))

  (func $check (param $v f32) (param $id i32)
    (if (f32.gt (local.get $v) (global.get $thr)) (then (call $ins (local.get $v) (local.get $id)))))

  ;; top-n of R and the first argmax of W (0 when W has no finite entry); $copy: W = R first, in the same pass.
  ;; Sixteen entries a round: one threshold test for all four vectors (rarely true once the top list is full),
  ;; and W's lane maxima; the first index holding W's maximum is found afterwards (compares only).
  ;; f32x4.pmax(acc, x) keeps acc when x is NaN, so NaN never wins, as with the scalar comparisons.
  (func (export "pass1") (param $r i32) (param $w i32) (param $len i32) (param $n i32) (param $copy i32)
    (local $i i32) (local $at i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t v128) (local $acc v128) (local $m f32) (local $x f32) (local $best i32)
    (global.set $n (local.get $n))
    (global.set $filled (i32.const 0))
    (global.set $thr (f32.const -inf))
    (local.set $acc (f32x4.splat (f32.const -inf)))
    (block $end
      (loop $round
        (br_if $end (i32.gt_s (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
        (local.set $at (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $v0 (v128.load (local.get $at)))
        (local.set $v1 (v128.load offset=16 (local.get $at)))
        (local.set $v2 (v128.load offset=32 (local.get $at)))
        (local.set $v3 (v128.load offset=48 (local.get $at)))
        (local.set $t (f32x4.splat (global.get $thr)))
        (if (v128.any_true (v128.or (v128.or (f32x4.gt (local.get $v0) (local.get $t)) (f32x4.gt (local.get $v1) (local.get $t)))
                                    (v128.or (f32x4.gt (local.get $v2) (local.get $t)) (f32x4.gt (local.get $v3) (local.get $t)))))
          (then
            (call $check4 (local.get $v0) (local.get $i))
            (call $check4 (local.get $v1) (i32.add (local.get $i) (i32.const 4)))
            (call $check4 (local.get $v2) (i32.add (local.get $i) (i32.const 8)))
            (call $check4 (local.get $v3) (i32.add (local.get $i) (i32.const 12)))))
        (local.set $at (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2))))
        (if (local.get $copy)
          (then
            (v128.store (local.get $at) (local.get $v0))
            (v128.store offset=16 (local.get $at) (local.get $v1))
            (v128.store offset=32 (local.get $at) (local.get $v2))
            (v128.store offset=48 (local.get $at) (local.get $v3)))
          (else
            (local.set $v0 (v128.load (local.get $at)))
            (local.set $v1 (v128.load offset=16 (local.get $at)))
            (local.set $v2 (v128.load offset=32 (local.get $at)))
            (local.set $v3 (v128.load offset=48 (local.get $at)))))
        (local.set $acc (f32x4.pmax (local.get $acc) (local.get $v0)))
        (local.set $acc (f32x4.pmax (local.get $acc) (local.get $v1)))
        (local.set $acc (f32x4.pmax (local.get $acc) (local.get $v2)))
        (local.set $acc (f32x4.pmax (local.get $acc) (local.get $v3)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $round)))
    ;; W's maximum: the lanes, then the tail (fewer than 16 entries, in order)
    (local.set $m (f32.const -inf))
    (call $lanemax (f32x4.extract_lane 0 (local.get $acc)) (local.get $m)) (local.set $m)
    (call $lanemax (f32x4.extract_lane 1 (local.get $acc)) (local.get $m)) (local.set $m)
    (call $lanemax (f32x4.extract_lane 2 (local.get $acc)) (local.get $m)) (local.set $m)
    (call $lanemax (f32x4.extract_lane 3 (local.get $acc)) (local.get $m)) (local.set $m)
    (block $tail_end
      (loop $tail
        (br_if $tail_end (i32.ge_s (local.get $i) (local.get $len)))
        (call $check (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))) (local.get $i))
        (if (local.get $copy)
          (then (f32.store (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))
                  (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))))))
        (call $lanemax (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (local.get $m)) (local.set $m)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    ;; the first index holding it (none when W has no finite entry: 0)
    (local.set $best (i32.const 0))
    (if (f32.gt (local.get $m) (f32.const -inf))
      (then
        (local.set $i (i32.const 0))
        (local.set $t (f32x4.splat (local.get $m)))
        (block $found
          (loop $find
            (br_if $found (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $len)))
            (br_if $found (v128.any_true (f32x4.eq (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (local.get $t))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $find)))
        (block $done
          (loop $first
            (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
            (br_if $done (f32.eq (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (local.get $m)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $first)))
        (local.set $best (local.get $i))))
    (i32.store offset=24 (i32.const 0) (local.get $best))
    (i32.store offset=28 (i32.const 0) (global.get $filled)))

  ;; the larger of x and m, keeping m when x is not larger (so NaN never wins)
  (func $lanemax (param $x f32) (param $m f32) (result f32)
    (if (result f32) (f32.gt (local.get $x) (local.get $m)) (then (local.get $x)) (else (local.get $m))))

  ;; $check for the four lanes of v, ids i .. i+3, in order
  (func $check4 (param $v v128) (param $i i32)
    (call $check (f32x4.extract_lane 0 (local.get $v)) (local.get $i))
    (call $check (f32x4.extract_lane 1 (local.get $v)) (i32.add (local.get $i) (i32.const 1)))
    (call $check (f32x4.extract_lane 2 (local.get $v)) (i32.add (local.get $i) (i32.const 2)))
    (call $check (f32x4.extract_lane 3 (local.get $v)) (i32.add (local.get $i) (i32.const 3))))

  ;; exp(d) for d <= 0 (d below -126*ln2 gives garbage; callers zero d <= -80 anyway)
  (func $exp4 (param $d v128) (result v128)
    (local $x v128) (local $k v128) (local $f v128) (local $p v128)
    (local.set $x (f32x4.max (f32x4.mul (local.get $d) (f32x4.splat (f32.const 1.4426950408889634))) (f32x4.splat (f32.const -126))))
    (local.set $k (f32x4.nearest (local.get $x)))
    (local.set $f (f32x4.sub (local.get $x) (local.get $k)))
    ;; 2^f on [-1/2, 1/2]: degree-5 least squares on Chebyshev nodes, relative error 7.7e-8
    (local.set $p (f32x4.splat (f32.const 0.0013266970386306295)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f)) (f32x4.splat (f32.const 0.00967545974551915))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f)) (f32x4.splat (f32.const 0.05550742616002574))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f)) (f32x4.splat (f32.const 0.24022121753561607))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f)) (f32x4.splat (f32.const 0.6931469491610635))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f)) (f32x4.splat (f32.const 1.0000000710296983))))
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (i32x4.splat (i32.const 127))) (i32.const 23))))

;; Z, T, ZW for the max m of R; when $e != 0 the raw row's e (float32) is stored there for the sampler.
  ;; Lanes sum in float32 over blocks of 64 chunks (256 entries), the blocks in float64.
  (func (export "pass2") (param $r i32) (param $w i32) (param $e i32) (param $len i32) (param $m f32)
    (local $i i32) (local $blockEnd i32) (local $d v128) (local $ex v128) (local $keep v128) (local $fin v128)
    (local $z v128) (local $t v128) (local $zw v128) (local $bz v128) (local $bt v128) (local $bzw v128)
    (local $ds f32) (local $es f64) (local $zs f64) (local $ts f64) (local $zws f64) (local $vend i32)
    (local.set $vend (i32.and (local.get $len) (i32.const -4)))
    (block $end
      (loop $block
        (br_if $end (i32.ge_s (local.get $i) (local.get $vend)))
        (local.set $blockEnd (i32.add (local.get $i) (i32.const 256)))
        (if (i32.gt_s (local.get $blockEnd) (local.get $vend)) (then (local.set $blockEnd (local.get $vend))))
        (local.set $bz (v128.const i32x4 0 0 0 0))
        (local.set $bt (v128.const i32x4 0 0 0 0))
        (local.set $bzw (v128.const i32x4 0 0 0 0))
        (loop $chunk
          (local.set $d (f32x4.sub (v128.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))) (f32x4.splat (local.get $m))))
          (local.set $keep (f32x4.gt (local.get $d) (f32x4.splat (f32.const -80))))
          (local.set $d (f32x4.max (local.get $d) (f32x4.splat (f32.const -80))))
          (local.set $ex (v128.and (call $exp4 (local.get $d)) (local.get $keep)))
          (if (local.get $e) (then (v128.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2))) (local.get $ex))))
          (local.set $fin (f32x4.ne (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32x4.splat (f32.const -inf))))
          (local.set $bz (f32x4.add (local.get $bz) (local.get $ex)))
          (local.set $bt (f32x4.add (local.get $bt) (f32x4.mul (local.get $ex) (local.get $d))))
          (local.set $bzw (f32x4.add (local.get $bzw) (v128.and (local.get $ex) (local.get $fin))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $chunk (i32.lt_s (local.get $i) (local.get $blockEnd))))
        (local.set $z (f64x2.add (local.get $z) (f64x2.add (f64x2.promote_low_f32x4 (local.get $bz))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bz) (local.get $bz))))))
        (local.set $t (f64x2.add (local.get $t) (f64x2.add (f64x2.promote_low_f32x4 (local.get $bt))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bt) (local.get $bt))))))
        (local.set $zw (f64x2.add (local.get $zw) (f64x2.add (f64x2.promote_low_f32x4 (local.get $bzw))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bzw) (local.get $bzw))))))
        (br $block)))
    (local.set $zs (f64.add (f64x2.extract_lane 0 (local.get $z)) (f64x2.extract_lane 1 (local.get $z))))
    (local.set $ts (f64.add (f64x2.extract_lane 0 (local.get $t)) (f64x2.extract_lane 1 (local.get $t))))
    (local.set $zws (f64.add (f64x2.extract_lane 0 (local.get $zw)) (f64x2.extract_lane 1 (local.get $zw))))
    (block $tail_end
      (loop $tail
        (br_if $tail_end (i32.ge_s (local.get $i) (local.get $len)))
        (local.set $ds (f32.sub (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))) (local.get $m)))
        (local.set $es (f64.const 0))
        (if (f32.gt (local.get $ds) (f32.const -80))
          (then (local.set $es (f64.promote_f32 (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (local.get $ds))))))))
        (if (local.get $e) (then (f32.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2))) (f32.demote_f64 (local.get $es)))))
        (local.set $zs (f64.add (local.get $zs) (local.get $es)))
        (local.set $ts (f64.add (local.get $ts) (f64.mul (local.get $es) (f64.promote_f32 (f32.max (local.get $ds) (f32.const -80))))))
        (if (f32.ne (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32.const -inf))
          (then (local.set $zws (f64.add (local.get $zws) (local.get $es)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (f64.store offset=0 (i32.const 0) (local.get $zs))
    (f64.store offset=8 (i32.const 0) (local.get $ts))
    (f64.store offset=16 (i32.const 0) (local.get $zws)))

  ;; pass2's ZW alone, for a draw before the raw statistics: e is computed (and stored at $e) only for the vectors
  ;; of W that hold a finite entry (a top-k row skips nearly all). Same blocks and order as pass2, and a skipped
  ;; vector adds +0 there, so the result has pass2's bits.
  (func (export "masked_z") (param $r i32) (param $w i32) (param $e i32) (param $len i32) (param $m f32) (result f64)
    (local $i i32) (local $blockEnd i32) (local $d v128) (local $ex v128) (local $fin v128)
    (local $zw v128) (local $bzw v128) (local $ds f32) (local $es f64) (local $zws f64) (local $vend i32)
    (local.set $vend (i32.and (local.get $len) (i32.const -4)))
    (block $end
      (loop $block
        (br_if $end (i32.ge_s (local.get $i) (local.get $vend)))
        (local.set $blockEnd (i32.add (local.get $i) (i32.const 256)))
        (if (i32.gt_s (local.get $blockEnd) (local.get $vend)) (then (local.set $blockEnd (local.get $vend))))
        (local.set $bzw (v128.const i32x4 0 0 0 0))
        (loop $chunk
          (local.set $fin (f32x4.ne (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32x4.splat (f32.const -inf))))
          (if (v128.any_true (local.get $fin))
            (then
              (local.set $d (f32x4.sub (v128.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))) (f32x4.splat (local.get $m))))
              (local.set $ex (v128.and (call $exp4 (f32x4.max (local.get $d) (f32x4.splat (f32.const -80))))
                                       (f32x4.gt (local.get $d) (f32x4.splat (f32.const -80)))))
              (v128.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2))) (local.get $ex))
              (local.set $bzw (f32x4.add (local.get $bzw) (v128.and (local.get $ex) (local.get $fin))))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $chunk (i32.lt_s (local.get $i) (local.get $blockEnd))))
        (local.set $zw (f64x2.add (local.get $zw) (f64x2.add (f64x2.promote_low_f32x4 (local.get $bzw))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bzw) (local.get $bzw))))))
        (br $block)))
    (local.set $zws (f64.add (f64x2.extract_lane 0 (local.get $zw)) (f64x2.extract_lane 1 (local.get $zw))))
    (block $tail_end
      (loop $tail
        (br_if $tail_end (i32.ge_s (local.get $i) (local.get $len)))
        (local.set $ds (f32.sub (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))) (local.get $m)))
        (local.set $es (f64.const 0))
        (if (f32.gt (local.get $ds) (f32.const -80))
          (then (local.set $es (f64.promote_f32 (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (local.get $ds))))))))
        (f32.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2))) (f32.demote_f64 (local.get $es)))
        (if (f32.ne (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32.const -inf))
          (then (local.set $zws (f64.add (local.get $zws) (local.get $es)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $zws))

  ;; inverse-CDF draw over the finite entries of W with weights e (from pass2 or masked_z): the first index whose
  ;; running sum exceeds $target, else the last finite one (-1 if none). Vectors of W with no finite entry are
  ;; skipped whole; the others are summed entry by entry, in order.
  (func (export "sample") (param $w i32) (param $e i32) (param $len i32) (param $target f64) (result i32)
    (local $i i32) (local $stop i32) (local $cum f64) (local $last i32)
    (local.set $last (i32.const -1))
    (block $end
      (loop $scan
        (br_if $end (i32.ge_s (local.get $i) (local.get $len)))
        (local.set $stop (i32.add (local.get $i) (i32.const 4)))
        (if (i32.gt_s (local.get $stop) (local.get $len)) (then (local.set $stop (local.get $len))))
        (if (i32.or (i32.lt_s (local.get $stop) (i32.add (local.get $i) (i32.const 4)))
                    (v128.any_true (f32x4.ne (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32x4.splat (f32.const -inf)))))
          (then
            (loop $lanes
              (if (f32.ne (f32.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 2)))) (f32.const -inf))
                (then
                  (local.set $cum (f64.add (local.get $cum) (f64.promote_f32 (f32.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2)))))))
                  (local.set $last (local.get $i))
                  (if (f64.lt (local.get $target) (local.get $cum)) (then (return (local.get $i))))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $lanes (i32.lt_s (local.get $i) (local.get $stop)))))
          (else (local.set $i (local.get $stop))))
        (br $scan)))
    (local.get $last))
)
