use crate::bank::*;

impl BankAccountLogic for BankAccount {
    fn open_bank_account(
        &self,
        command: &OpenBankAccount,
    ) -> Result<Vec<BankAccountOpened>, BankAccountError> {
        if self.opened {
            return Err(BankAccountError::AccountAlreadyOpened);
        }
        Ok(vec![BankAccountOpened {
            account_number: command.account_number.clone(),
            initial_balance: command.initial_balance,
            currency: command.currency,
            pin: command.pin.clone(),
        }])
    }

    fn deposit_money(
        &self,
        command: &DepositMoney,
    ) -> Result<Vec<MoneyDeposited>, BankAccountError> {
        if !self.opened {
            return Err(BankAccountError::AccountNotOpen);
        }
        Ok(vec![MoneyDeposited {
            account_number: command.account_number.clone(),
            amount: command.amount,
            balance: self.balance + command.amount,
        }])
    }

    fn withdraw_money(
        &self,
        command: &WithdrawMoney,
    ) -> Result<Vec<MoneyWithdrawn>, BankAccountError> {
        if !self.opened {
            return Err(BankAccountError::AccountNotOpen);
        }
        if command.amount > self.balance {
            return Err(BankAccountError::InsufficientFunds);
        }
        Ok(vec![MoneyWithdrawn {
            account_number: command.account_number.clone(),
            withdrawal_id: command.withdrawal_id,
            amount: command.amount,
            balance: self.balance - command.amount,
        }])
    }

    fn apply_bank_account_opened(&mut self, event: &BankAccountOpened) {
        self.account_number = event.account_number.clone();
        self.balance = event.initial_balance;
        self.currency = event.currency;
        self.pin = event.pin.clone();
        self.opened = true;
    }

    fn apply_money_deposited(&mut self, event: &MoneyDeposited) {
        self.balance = event.balance;
    }

    fn apply_money_withdrawn(&mut self, event: &MoneyWithdrawn) {
        self.balance = event.balance;
    }
}
