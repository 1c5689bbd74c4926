"""The few API calls the experiments seed with, and the table client their checks read through."""

import json
import os
import urllib.error
import urllib.request

import boto3

PASSWORD = "experiment-customer-password"


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body=None, token=None, headers=None):
        request = urllib.request.Request(self.base + path, method=method, headers=headers or {})
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        data = json.dumps(body).encode() if body is not None else None
        try:
            with urllib.request.urlopen(request, data, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}")
        return json.loads(text) if text else None

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
