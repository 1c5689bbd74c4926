"""Tests of moto_server.py's patches, run in process with moto's mock:
`python -m unittest discover -s infra/offline` (scripts/test does)."""

import json
import sys
import threading
import unittest

import boto3
import moto_server  # noqa: F401  (importing it applies the patches)
from moto import mock_aws


class QueuesCreatedAtOnce(unittest.TestCase):
    def test_queues_with_dead_letter_queues_are_created_from_many_threads(self) -> None:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            # Each dead-letter queue is found by walking the region's queues from the oldest.
            for i in range(600):
                sqs.create_queue(QueueName=f"older-{i}")
            dlq = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
            failures: list[BaseException] = []

            def create(worker: int) -> None:
                client = boto3.client("sqs", region_name="us-east-1")
                for i in range(50):
                    try:
                        client.create_queue(QueueName=f"q-{worker}-{i}", Attributes={"RedrivePolicy": policy})
                    except BaseException as error:  # noqa: BLE001  (any failure is the finding)
                        failures.append(error)

            threads = [threading.Thread(target=create, args=(w,)) for w in range(4)]
            # Threads switched as often as the interpreter can, so that a walk of the queues is
            # interrupted by another thread's insert, as on the server's request threads.
            interval = sys.getswitchinterval()
            sys.setswitchinterval(1e-6)
            try:
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            finally:
                sys.setswitchinterval(interval)
            self.assertEqual(failures, [])
            self.assertEqual(len(sqs.list_queues(MaxResults=1000)["QueueUrls"]), 600 + 1 + 4 * 50)


if __name__ == "__main__":
    unittest.main()
