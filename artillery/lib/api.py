"""The few API calls the experiments seed with, and the table client their checks read through."""

import json
import os
import time
import urllib.error
import urllib.request

import boto3

PASSWORD = "experiment-customer-password"
ATTEMPTS = 8


def backoff(error: urllib.error.HTTPError, attempt: int):
    """How long to wait before trying a refused call again, or None to give up: a 429 is retried
    after its Retry-After (a limit of Cartwheel's), or with exponential backoff (API Gateway's
    throttle, which sends none), as long as that is a short wait."""
    if error.code != 429 or attempt + 1 >= ATTEMPTS:
        return None
    wait = float(error.headers.get("retry-after") or 0.2 * 2**attempt)
    return wait if wait <= 30 else None


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body=None, token=None, headers=None):
        request = urllib.request.Request(self.base + path, method=method, headers=headers or {})
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(ATTEMPTS):
            try:
                with urllib.request.urlopen(request, data, timeout=30) as response:
                    text = response.read()
                return json.loads(text) if text else None
            except urllib.error.HTTPError as error:
                wait = backoff(error, attempt)
                if wait is None:
                    raise SystemExit(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from error
                time.sleep(wait)
        raise SystemExit(f"{method} {path}: still 429 after {ATTEMPTS} attempts")

    def login(self, email: str, password: str) -> str:
        return self.call("POST", "/auth/login", {"email": email, "password": password})["accessToken"]

    def sign_up(self, email: str) -> dict:
        """A new customer: its token and user id."""
        self.call("POST", "/users", {"email": email, "password": PASSWORD, "name": "Experiment"})
        token = self.login(email, PASSWORD)
        return {"token": token, "userId": self.call("GET", "/users/me", token=token)["id"]}

    def create_product(self, admin: str, sku: str, stock: int) -> dict:
        body = {"sku": sku, "name": f"Experiment {sku}", "description": "made by an experiment",
                "category": "experiments", "price": {"amount": 1999, "currency": "EUR"}, "stock": stock}
        return self.call("POST", "/products", body, token=admin)

    @staticmethod
    def dynamodb():
        return client("dynamodb")


def client(service: str):
    """An AWS client: offline, boto3 takes the emulators' endpoints from AWS_ENDPOINT_URL and
    AWS_ENDPOINT_URL_DYNAMODB, as the SDK does; it reads only AWS_DEFAULT_REGION, so the region is
    passed."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(service, region_name=region)
