"""Peer libraries timed on the benchmark's double well: each imports its library when called,
so a missing optional extra is an ImportError the caller reports."""
import time

import numpy as np

__all__ = ["sdeint_rate", "torchsde_rate"]


def sdeint_rate(n_paths, n_steps, dt):
    """Path-steps/s of sdeint's Itô–Euler on the double well (one path at a time, as it runs)."""
    import sdeint

    ts = np.linspace(0, n_steps * dt, n_steps + 1)
    f = lambda x, t: x - x ** 3  # noqa: E731
    g = lambda x, t: 0.7  # noqa: E731
    tic = time.perf_counter()
    for _ in range(n_paths):  # sdeint integrates one path at a time
        sdeint.itoEuler(f, g, 0.0, ts)
    return n_paths * n_steps / (time.perf_counter() - tic)


def torchsde_rate(n_paths, n_steps, dt):
    """Path-steps/s of torchsde's Euler on the double well (one thread, float64)."""
    import torch
    import torchsde

    class SDE(torch.nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return y - y ** 3

        def g(self, t, y):
            return torch.full_like(y, 0.7)

    torch.set_num_threads(1)
    y0 = torch.zeros(n_paths, 1, dtype=torch.float64)
    ts = torch.linspace(0, n_steps * dt, n_steps + 1, dtype=torch.float64)
    bm = torchsde.BrownianInterval(t0=0.0, t1=n_steps * dt, size=(n_paths, 1), dtype=torch.float64)
    tic = time.perf_counter()
    torchsde.sdeint(SDE(), y0, ts[[0, -1]], method="euler", dt=dt, bm=bm)
    return n_paths * n_steps / (time.perf_counter() - tic)
