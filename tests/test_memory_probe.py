"""``hiernas.memory_probe``: saved activations are counted once per storage, while their graph lives."""

import torch

from hiernas.memory_probe import SavedBytes, peak_bytes, saved_peak_bytes


def test_saved_bytes_follow_the_graph() -> None:
    """Saved storages count while their graph lives, once each, and leave when backward frees them."""
    w = torch.randn(256, 256, requires_grad=True)
    tracker = SavedBytes({w.untyped_storage().data_ptr()})
    x = torch.randn(64, 256)
    with torch.autograd.graph.saved_tensors_hooks(tracker.pack, tracker.unpack):
        h = torch.tanh(x @ w)  # saves x (w excluded) and tanh's output
        loss = (h * h).sum()  # saves h twice: one storage
        assert tracker.live == x.untyped_storage().nbytes() + h.untyped_storage().nbytes()
        loss.backward()
    assert tracker.live == 0 and tracker.peak == x.untyped_storage().nbytes() + h.untyped_storage().nbytes()


def test_peak_of_two_graphs_in_turn_is_the_larger_one() -> None:
    """A graph freed by its backward no longer counts: two graphs one after the other peak at the larger."""
    w = torch.randn(128, 128, requires_grad=True)
    small, large = torch.randn(8, 128), torch.randn(32, 128)

    def two_steps() -> None:
        for x in (small, large):
            torch.relu(x @ w).sum().backward()

    expected = large.untyped_storage().nbytes() + 32 * 128 * 4  # the input and relu's output
    assert saved_peak_bytes(two_steps, [w]) == expected
    assert peak_bytes(two_steps, [w], torch.device("cpu")) == expected


def test_excluded_parameters_are_not_counted() -> None:
    w = torch.randn(64, 64, requires_grad=True)
    x = torch.randn(4, 64, requires_grad=True)
    assert saved_peak_bytes(lambda: (x @ w).sum(), [w, x]) == 0
    assert saved_peak_bytes(lambda: (x @ w).sum(), [w]) == x.untyped_storage().nbytes()
