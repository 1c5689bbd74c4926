//! The simulated card processor behind AuthorizePayment. It honours the test tokens people know
//! from card processors' test modes, so every saga path can be driven from a request.

use crate::PaymentToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    CardDeclined,
    InsufficientFunds,
    /// A well-formed token the processor does not know.
    UnknownToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentDecision {
    Approved,
    /// Approved, after the processor took its time (a test cancels the order meanwhile).
    SlowApproval,
    Declined(DeclineReason),
    /// The processor failed this time; the saga retries with backoff, then gives up.
    TransientFailure,
    /// The processor never answers: only the function's timeout ends the call.
    NoAnswer,
}

pub fn decide(token: &PaymentToken) -> PaymentDecision {
    match token.as_str() {
        "tok_visa" | "tok_mastercard" | "tok_amex" => PaymentDecision::Approved,
        "tok_chargeDeclined" => PaymentDecision::Declined(DeclineReason::CardDeclined),
        "tok_insufficientFunds" => PaymentDecision::Declined(DeclineReason::InsufficientFunds),
        "tok_slowApproval" => PaymentDecision::SlowApproval,
        "tok_processingError" => PaymentDecision::TransientFailure,
        "tok_processorUnresponsive" => PaymentDecision::NoAnswer,
        _ => PaymentDecision::Declined(DeclineReason::UnknownToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(token: &str) -> PaymentDecision {
        decide(&PaymentToken::parse(token).unwrap())
    }

    #[test]
    fn test_tokens_drive_each_outcome() {
        assert_eq!(decision("tok_visa"), PaymentDecision::Approved);
        assert_eq!(
            decision("tok_chargeDeclined"),
            PaymentDecision::Declined(DeclineReason::CardDeclined)
        );
        assert_eq!(
            decision("tok_insufficientFunds"),
            PaymentDecision::Declined(DeclineReason::InsufficientFunds)
        );
        assert_eq!(
            decision("tok_processingError"),
            PaymentDecision::TransientFailure
        );
        assert_eq!(
            decision("tok_processorUnresponsive"),
            PaymentDecision::NoAnswer
        );
        assert_eq!(
            decision("tok_whatever"),
            PaymentDecision::Declined(DeclineReason::UnknownToken)
        );
    }
}
