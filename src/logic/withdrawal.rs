use crate::bank::*;

impl WithdrawalProcess for Withdrawal {
    /// The customer asked for cash: remember what, and wait for the PIN check.
    fn on_withdrawal_initiated(
        &mut self,
        event: &crate::atm::WithdrawalInitiated,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
        self.account_number = event.account_number.clone();
        self.amount = event.amount;
        Ok(vec![])
    }

    /// The PIN was right: debit the account.
    fn on_authorization_confirmed(
        &mut self,
        event: &crate::atm::AuthorizationConfirmed,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
        Ok(vec![
            WithdrawMoney {
                account_number: self.account_number.clone(),
                withdrawal_id: event.withdrawal_id,
                amount: self.amount,
            }
            .into(),
        ])
    }

    /// The account was debited: the machine may pay out.
    fn on_money_withdrawn(
        &mut self,
        event: &MoneyWithdrawn,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<Vec<WithdrawalDispatch>, eskema::HandlerError> {
        Ok(vec![
            crate::atm::DispenseCash {
                withdrawal_id: event.withdrawal_id,
            }
            .into(),
        ])
    }
}
