"""Window gathering and the Gaussian assembly of the wave emulators."""
import torch

from graphqd import keys as K
from graphqd.graphs import window_average, window_graph
from graphqd.graphs.wave import WaveGraphSpec, assemble_windows, gather_windows, window_centres, window_fields


def test_gather_puts_the_members_of_each_window_in_slot_order():
    spec, points = WaveGraphSpec(width=5, patch=5), 11
    fields = window_fields(points, spec, periodic=True)
    values = torch.arange(points, dtype=torch.float64)
    windows = gather_windows(values, fields[K.WINDOW_EDGE_INDEX], spec.width)
    for c in range(points):
        assert windows[c].tolist() == [float((c + s - 2) % points) for s in range(5)]
    assert window_centres(fields[K.WINDOW_EDGE_INDEX], 5).tolist() == list(range(points))


def test_whole_grid_assembly_is_the_overlapping_window_average():
    points, width = 16, 5
    predictions = torch.randn(points, width, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fields = window_fields(points, WaveGraphSpec(width=width, patch=width), periodic=True)
    assembled = assemble_windows(predictions, fields[K.WINDOW_EDGE_INDEX], fields[K.WINDOW_OFFSET], points, 1.5)
    torch.testing.assert_close(assembled, window_average(predictions, window_graph(points, width), 1.5))
    by_hand = torch.zeros(points, 2, dtype=torch.float64)
    for m in range(points):  # Σ_c w(m − c) f_c[m − c] / Σ_c w(m − c), over the windows holding m
        slots = [(c, (m - c + 2) % points) for c in range(points) if (m - c) % points in (0, 1, 2, points - 1, points - 2)]
        w = torch.tensor([torch.exp(torch.tensor(-((s - 2) ** 2) / (2 * 1.5 ** 2))) for _, s in slots],
                         dtype=torch.float64)
        by_hand[m] = (w[:, None] * torch.stack([predictions[c, s] for c, s in slots])).sum(0) / w.sum()
    torch.testing.assert_close(assembled, by_hand)


def test_an_open_patch_has_windows_where_they_fit_and_scores_by_spec():
    members = window_fields(9, WaveGraphSpec(width=5, patch=9), periodic=False)
    assert window_centres(members[K.WINDOW_EDGE_INDEX], 5).tolist() == [2, 3, 4, 5, 6]
    assert members[K.NODE_WEIGHT].tolist() == [1.0] * 9
    centres = window_fields(9, WaveGraphSpec(width=5, patch=9, margin=2), periodic=False)
    assert centres[K.NODE_WEIGHT].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    single = window_fields(5, WaveGraphSpec(width=5, patch=5), periodic=False)
    prediction = torch.randn(1, 5, 2)
    assembled = assemble_windows(prediction, single[K.WINDOW_EDGE_INDEX], single[K.WINDOW_OFFSET], 5, 2.8)
    torch.testing.assert_close(assembled, prediction[0])  # one window: its own prediction
