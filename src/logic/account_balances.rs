use std::collections::BTreeMap;

use crate::bank::*;

/// The read model: every account's balance, kept up to date from the events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AccountBalances {
    pub balances: BTreeMap<String, i64>,
}

impl AccountBalancesHandler for AccountBalances {
    fn on_bank_account_opened(
        &mut self,
        event: &BankAccountOpened,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<(), eskema::HandlerError> {
        self.balances
            .insert(event.account_number.clone(), event.initial_balance);
        Ok(())
    }

    fn on_money_deposited(
        &mut self,
        event: &MoneyDeposited,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<(), eskema::HandlerError> {
        self.balances
            .insert(event.account_number.clone(), event.balance);
        Ok(())
    }

    fn on_money_withdrawn(
        &mut self,
        event: &MoneyWithdrawn,
        _recorded: &eskema::RecordedEvent,
    ) -> Result<(), eskema::HandlerError> {
        self.balances
            .insert(event.account_number.clone(), event.balance);
        Ok(())
    }
}
