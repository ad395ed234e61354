"""A lighteval model that generates through a TGI-protocol endpoint with
`huggingface_hub.InferenceClient` (lighteval's own TGI backend needs the unmaintained
`text-generation` client, which pins huggingface_hub < 1, and downloads the tokenizer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from huggingface_hub import InferenceClient
from lighteval.models.abstract_model import LightevalModel, ModelConfig
from lighteval.models.model_output import ModelResponse
from lighteval.utils.cache_management import SampleCache
from tqdm import tqdm

from bigcode_release.errors import EvaluationError

DEFAULT_MAX_LENGTH = 4096


class EndpointModelConfig(ModelConfig):
    """`endpoint_url` speaks TGI's `/generate` and `/info`; `concurrency` requests run at a time."""

    endpoint_url: str
    model_name: str = "endpoint"
    temperature: float = 0.0
    top_p: float = 0.95
    seed: int = 0
    concurrency: int = 8
    timeout: float = 120.0
    show_progress: bool = True


class EndpointModel(LightevalModel):
    """Generative requests only: each of a document's n samples is one `/generate` call."""

    def __init__(self, config: EndpointModelConfig):
        self.config = config
        self.client = InferenceClient(model=config.endpoint_url, provider="hf-inference", timeout=config.timeout)
        try:
            info = self.client.get_endpoint_info()
        except Exception as exc:  # noqa: BLE001 - connection, HTTP and decoding errors all mean "not usable"
            raise EvaluationError(
                f"endpoint {config.endpoint_url}: no TGI /info answer ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(info, dict) or "model_id" not in info:
            raise EvaluationError(f"endpoint {config.endpoint_url}: /info lacks model_id; is it a TGI server?")
        self.info = info
        if config.model_name == "endpoint":
            config.model_name = str(info["model_id"])
        self._max_length = int(info.get("max_input_tokens") or info.get("max_input_length") or DEFAULT_MAX_LENGTH)
        # TGI refuses more stop sequences than it allows (4 by default); the rest are cut client-side
        self._max_stops = int(info.get("max_stop_sequences") or 4)
        self._cache = SampleCache(config)

    @property
    def tokenizer(self):
        return None  # prompts go to the server as text; it tokenizes

    @property
    def add_special_tokens(self) -> bool:
        return False

    @property
    def max_length(self) -> int:
        return self._max_length

    def _generate(self, prompt: str, max_new_tokens: int, stop: list[str], seed: int) -> str:
        sampling = self.config.temperature > 0
        try:
            return self.client.text_generation(
                prompt,
                max_new_tokens=max_new_tokens,
                stop=stop,
                do_sample=sampling,
                temperature=self.config.temperature if sampling else None,
                top_p=self.config.top_p if sampling else None,
                seed=seed if sampling else None,
            )
        except Exception as exc:  # noqa: BLE001 - name the endpoint whatever the transport error was
            raise EvaluationError(
                f"endpoint {self.config.endpoint_url}: generation failed ({type(exc).__name__}: {exc})"
            ) from None

    def greedy_until(self, docs) -> list[ModelResponse]:
        """n completions per document (one when sampling is off), requested concurrently."""
        jobs = [
            (d, i) for d, doc in enumerate(docs) for i in range(doc.num_samples if self.config.temperature > 0 else 1)
        ]

        def run(job: tuple[int, int]) -> str:
            doc = docs[job[0]]
            return self._generate(
                doc.query,
                doc.generation_size or 256,
                list(doc.stop_sequences or [])[: self._max_stops],
                self.config.seed + 1000 * job[0] + job[1],
            )

        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            texts = list(
                tqdm(
                    pool.map(run, jobs),
                    total=len(jobs),
                    unit="sample",
                    desc="generating",
                    disable=not self.config.show_progress,
                    dynamic_ncols=True,
                )
            )
        grouped: list[list[str]] = [[] for _ in docs]
        for (d, _), text in zip(jobs, texts):
            grouped[d].append(text)
        return [ModelResponse(text=group) for group in grouped]

    def loglikelihood(self, docs):
        raise EvaluationError("the endpoint model only generates; loglikelihood tasks need a local checkpoint")

    def loglikelihood_rolling(self, docs):
        raise EvaluationError("the endpoint model only generates; perplexity tasks need a local checkpoint")
