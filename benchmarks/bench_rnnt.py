"""RNN-T loss, forward + backward: tympan's Triton kernels against torchaudio on a GPU, and on the CPU the
pure-PyTorch wavefront against the float64 brute-force lattice recursion of the tests.

GPU cases (skipped without CUDA or torchaudio): ``B=32, T=500, U=100, V=1000`` in float32 (target 2x),
bfloat16 (target 3x) and float16, and ``B=32, T=150, U=40, V=28`` in float32 (target 3x), that last one also with
the forward + backward captured in a CUDA graph on both sides (what a training step under CUDA graphs sees:
the kernels without the host's launch work). torchaudio takes
no bfloat16 logits, so in that case its side converts them to float32 first (as a user would; the
conversion is timed with it). Lengths are random with the longest equal to the tensor sizes (torchaudio
requires that). Each check records the largest differences of
costs and gradients from torchaudio and the peak memory that one forward + backward allocates beyond the
logits, as a multiple of the logits' size, for torchaudio, for ours and for ours with ``inplace_gradient``.

Where torchaudio is installed with its compiled library, the wavefront also runs against torchaudio's CPU kernel
in float32 (``B=8, T=150, U=40, V=28`` and ``B=4, T=100, U=20, V=100``), with the costs compared.

Run it alone with ``python -m benchmarks.bench_rnnt [--smoke] [--json PATH]``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.harness import Result, compare, run_from_command_line
from tympan.functional import rnnt_loss

#: ``(batch, frames, labels, vocab, dtype, speed-up aimed for)`` of each GPU case.
GPU_CASES = (
    (32, 500, 100, 1000, torch.float32, 2.0),
    (32, 500, 100, 1000, torch.bfloat16, 3.0),
    (32, 500, 100, 1000, torch.float16, None),
    (32, 150, 40, 28, torch.float32, 3.0),
)
SMOKE_GPU_CASES = ((4, 50, 10, 100, torch.float32, None),)
#: ``(batch, frames, labels, vocab, speed-up aimed for)`` of the cases run as CUDA graphs.
GRAPH_CASES = ((32, 150, 40, 28, 3.0),)
SMOKE_GRAPH_CASES = ((4, 50, 10, 100, None),)
CPU_CASES = ((4, 30, 10, 20), (2, 12, 5, 8))
SMOKE_CPU_CASES = ((2, 6, 3, 5),)
CPU_TORCHAUDIO_CASES = ((8, 150, 40, 28), (4, 100, 20, 100))
SMOKE_CPU_TORCHAUDIO_CASES = ((2, 20, 5, 10),)

Problem = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _problem(batch: int, frames: int, labels: int, vocab: int, dtype: torch.dtype, device: str) -> Problem:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, frames, labels + 1, vocab, generator=generator).to(device=device, dtype=dtype)
    targets = torch.randint(0, vocab - 1, (batch, labels), generator=generator, dtype=torch.int32)
    t_len = torch.randint(frames // 2, frames + 1, (batch,), generator=generator, dtype=torch.int32)
    u_len = torch.randint(labels // 2, labels + 1, (batch,), generator=generator, dtype=torch.int32)
    t_len[0], u_len[0] = frames, labels
    return logits, targets.to(device), t_len.to(device), u_len.to(device)


def _step(loss: Callable[..., torch.Tensor], problem: Problem, **options: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward + backward on a fresh leaf copy of the logits; returns the costs and the gradient."""
    logits, targets, t_len, u_len = problem
    x = logits.detach().requires_grad_()
    costs = loss(x, targets, t_len, u_len, reduction="none", **options)
    costs.sum().backward()
    return costs.detach(), x.grad


def _errors(
    ours: tuple[torch.Tensor, torch.Tensor],
    peer: tuple[torch.Tensor, torch.Tensor],
    tolerance: float,
    relative: bool = True,
) -> dict[str, Any]:
    """The largest differences of our costs and gradient (two :func:`_step` results) from the peer's, worked out in
    float32 or wider: the costs' relative to the peer's (absolute where ``relative`` is false), the gradient's
    absolute; ``ok`` where both are within ``tolerance``."""
    (ours_costs, ours_grad), (peer_costs, peer_grad) = [
        [x.to(torch.promote_types(x.dtype, torch.float32)) for x in pair] for pair in (ours, peer)
    ]
    cost_differences = (ours_costs - peer_costs).abs()
    if relative:
        cost_differences = cost_differences / peer_costs.abs()
    cost_err = cost_differences.max().item()
    grad_err = (ours_grad - peer_grad).abs().max().item()
    cost_name = "cost_rel_err" if relative else "cost_abs_err"
    return {cost_name: cost_err, "grad_abs_err": grad_err, "ok": cost_err <= tolerance and grad_err <= tolerance}


def _synchronised(fn: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        fn()
        torch.cuda.synchronize()

    return run


def _captured(
    loss: Callable[..., torch.Tensor], problem: Problem
) -> tuple[Callable[[], None], Callable[[], tuple[torch.Tensor, torch.Tensor]]]:
    """One forward + backward captured in a CUDA graph: the graph's replay, and a function returning the costs and
    the gradient of the last replay. Warmed up on a side stream, with the gradient allocated inside the capture
    (torch's whole-network capture)."""
    logits, targets, t_len, u_len = problem
    x = logits.detach().clone().requires_grad_()

    def step() -> torch.Tensor:
        costs = loss(x, targets, t_len, u_len, reduction="none")
        costs.sum().backward()
        return costs

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            x.grad = None
            step()
    torch.cuda.current_stream().wait_stream(side)
    x.grad = None
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        costs = step()
    return graph.replay, lambda: (costs.detach(), x.grad)


def _timed_on_gpu(
    name: str,
    ours: Callable[[], Any],
    peer: Callable[[], Any],
    check: Callable[[], dict[str, Any]],
    params: dict[str, Any],
    target: float | None,
    rounds: int,
) -> Result:
    """:func:`compare` of two GPU steps, each call waited for."""
    return compare(
        name,
        _synchronised(ours),
        _synchronised(peer),
        rounds=rounds,
        warmup=2,
        number=1,
        check=check,
        params=params,
        target_ratio=target,
    )


def _peak_extra(fn: Callable[[], Any], logits: torch.Tensor) -> float:
    """Peak bytes allocated by ``fn`` beyond what was allocated before it, over the bytes of ``logits``."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / (logits.numel() * logits.element_size())


def _gpu_case(
    batch: int, frames: int, labels: int, vocab: int, dtype: torch.dtype, target: float | None, rounds: int
) -> Result:
    import torchaudio

    def peer_loss(logits: torch.Tensor, *args: Any, **options: Any) -> torch.Tensor:
        if logits.dtype == torch.bfloat16:
            logits = logits.float()
        return torchaudio.functional.rnnt_loss(logits, *args, **options)

    problem = _problem(batch, frames, labels, vocab, dtype, "cuda")
    params = {"B": batch, "T": frames, "U": labels, "V": vocab, "dtype": str(dtype).removeprefix("torch.")}

    def ours() -> None:
        _step(rnnt_loss, problem)

    def peer() -> None:
        _step(peer_loss, problem)

    def check() -> dict[str, Any]:
        tolerance = 1e-3 if dtype == torch.float32 else 2e-2
        errors = _errors(_step(rnnt_loss, problem), _step(peer_loss, problem), tolerance)
        logits = problem[0]
        inplace = (logits.detach().clone(), *problem[1:])
        return {
            **errors,
            "mem_peer": _peak_extra(peer, logits),
            "mem_ours": _peak_extra(ours, logits),
            "mem_ours_inplace": _peak_extra(lambda: _step(rnnt_loss, inplace, inplace_gradient=True), logits),
        }

    return _timed_on_gpu("rnnt fwd+bwd vs torchaudio", ours, peer, check, params, target, rounds)


def _graph_case(batch: int, frames: int, labels: int, vocab: int, target: float | None, rounds: int) -> Result:
    """The step captured in a CUDA graph on both sides (host work gone, the kernels alone), or, where torchaudio's
    loss cannot be captured, against its plain step (``peer: eager``, the reason in the check's facts)."""
    import torchaudio

    problem = _problem(batch, frames, labels, vocab, torch.float32, "cuda")
    ours, ours_outputs = _captured(rnnt_loss, problem)
    facts: dict[str, Any] = {}
    try:
        peer, _ = _captured(torchaudio.functional.rnnt_loss, problem)
    except RuntimeError as error:
        torch.cuda.synchronize()
        facts["peer_capture_error"] = str(error).splitlines()[0][:120]
        peer = lambda: _step(torchaudio.functional.rnnt_loss, problem)  # noqa: E731
    peer_mode = "eager" if facts else "graph"
    params = {"B": batch, "T": frames, "U": labels, "V": vocab, "dtype": "float32", "ours": "graph", "peer": peer_mode}

    def check() -> dict[str, Any]:
        ours()
        return {**facts, **_errors(ours_outputs(), _step(torchaudio.functional.rnnt_loss, problem), 1e-3)}

    return _timed_on_gpu("rnnt fwd+bwd in a CUDA graph vs torchaudio", ours, peer, check, params, target, rounds)


def _load_reference() -> Any:
    path = Path(__file__).resolve().parents[1] / "tests" / "plugins" / "losses" / "_rnnt_reference.py"
    spec = importlib.util.spec_from_file_location("_rnnt_reference", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cpu_case(batch: int, frames: int, labels: int, vocab: int, rounds: int) -> Result:
    reference = _load_reference()
    logits, targets, t_len, u_len = _problem(batch, frames, labels, vocab, torch.float64, "cpu")
    weights = torch.ones(batch, dtype=torch.float64)
    params = {"B": batch, "T": frames, "U": labels, "V": vocab, "dtype": "float64", "device": "cpu"}

    def ours() -> tuple[torch.Tensor, torch.Tensor]:
        return _step(rnnt_loss, (logits, targets, t_len, u_len), implementation="torch")

    def peer() -> tuple[torch.Tensor, torch.Tensor]:
        return reference.reference_gradient(logits, targets, t_len, u_len, -1, weights)

    def check() -> dict[str, Any]:
        return _errors(ours(), peer(), 1e-6, relative=False)

    return compare(
        "rnnt wavefront vs brute force (cpu)", ours, peer, rounds=rounds, warmup=1, number=1, check=check, params=params
    )


def _cpu_torchaudio_case(batch: int, frames: int, labels: int, vocab: int, rounds: int) -> Result:
    import torchaudio

    problem = _problem(batch, frames, labels, vocab, torch.float32, "cpu")
    params = {"B": batch, "T": frames, "U": labels, "V": vocab, "dtype": "float32", "device": "cpu"}

    def ours() -> tuple[torch.Tensor, torch.Tensor]:
        return _step(rnnt_loss, problem, implementation="torch")

    def peer() -> tuple[torch.Tensor, torch.Tensor]:
        return _step(torchaudio.functional.rnnt_loss, problem)

    def check() -> dict[str, Any]:
        return _errors(ours(), peer(), 1e-4)

    return compare(
        "rnnt wavefront vs torchaudio (cpu)", ours, peer, rounds=rounds, warmup=1, number=1, check=check, params=params
    )


def _torchaudio_kernels() -> bool:
    """Whether torchaudio is installed with its compiled library (its RNN-T loss needs it)."""
    if importlib.util.find_spec("torchaudio") is None:
        return False
    import torchaudio  # noqa: F401  (loads its library where it has one)

    return hasattr(torch.ops.torchaudio, "rnnt_loss_forward")


def run(smoke: bool = False) -> list[Result]:
    """Every CPU case that this machine can run (torchaudio cases need its library), then :func:`run_gpu`."""
    rounds = 3 if smoke else 10
    results = [_cpu_case(*case, rounds=rounds) for case in (SMOKE_CPU_CASES if smoke else CPU_CASES)]
    if not _torchaudio_kernels():
        return results
    cpu_cases = SMOKE_CPU_TORCHAUDIO_CASES if smoke else CPU_TORCHAUDIO_CASES
    results += [_cpu_torchaudio_case(*case, rounds=rounds) for case in cpu_cases]
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """The CUDA cases against torchaudio's kernels (none without a device or without torchaudio's library)."""
    if not (torch.cuda.is_available() and _torchaudio_kernels()):
        return []
    rounds = 3 if smoke else 10
    results = [_gpu_case(*case, rounds=rounds) for case in (SMOKE_GPU_CASES if smoke else GPU_CASES)]
    graph_cases = SMOKE_GRAPH_CASES if smoke else GRAPH_CASES
    return results + [_graph_case(*case, rounds=rounds) for case in graph_cases]


def main() -> None:
    """Run from the command line, print the table, optionally write JSON."""
    run_from_command_line(__doc__.splitlines()[0], run)


if __name__ == "__main__":
    main()
