use crate::atm::*;

/// The `custom` rule of `InitiateWithdrawal.amount`: machines hold only tens.
pub fn multiple_of_ten(amount: &i64) -> Result<(), String> {
    if amount % 10 == 0 {
        Ok(())
    } else {
        Err("must be a multiple of 10".to_string())
    }
}

/// Wrong PINs allowed before the card is retained.
pub const MAX_PIN_ATTEMPTS: u32 = 3;

impl AtmWithdrawalLogic for AtmWithdrawal {
    fn initiate_withdrawal(
        &self,
        command: &InitiateWithdrawal,
    ) -> Result<Vec<WithdrawalInitiated>, AtmWithdrawalError> {
        if self.status.is_some() {
            return Err(AtmWithdrawalError::AlreadyInitiated);
        }
        Ok(vec![WithdrawalInitiated {
            withdrawal_id: command.withdrawal_id,
            atm_id: command.atm_id.clone(),
            account_number: command.account_number.clone(),
            amount: command.amount,
        }])
    }

    fn confirm_authorization(
        &self,
        command: &ConfirmAuthorization,
    ) -> Result<Vec<ConfirmAuthorizationEmits>, AtmWithdrawalError> {
        match self.status {
            None => return Err(AtmWithdrawalError::NotInitiated),
            Some(WithdrawalStatus::Initiated) => {}
            Some(_) => return Err(AtmWithdrawalError::AlreadyAuthorized),
        }
        if self.failed_pin_attempts >= MAX_PIN_ATTEMPTS {
            return Err(AtmWithdrawalError::CardBlocked);
        }
        if command.entered_pin != command.card_pin {
            return Ok(vec![
                PinRejected {
                    withdrawal_id: command.withdrawal_id,
                    attempts: self.failed_pin_attempts + 1,
                }
                .into(),
            ]);
        }
        Ok(vec![
            AuthorizationConfirmed {
                withdrawal_id: command.withdrawal_id,
                account_number: self.account_number.clone(),
                amount: self.amount,
            }
            .into(),
        ])
    }

    fn dispense_cash(
        &self,
        command: &DispenseCash,
    ) -> Result<Vec<CashDispensed>, AtmWithdrawalError> {
        match self.status {
            None => Err(AtmWithdrawalError::NotInitiated),
            Some(WithdrawalStatus::Initiated) => Err(AtmWithdrawalError::NotAuthorized),
            Some(WithdrawalStatus::Dispensed) => Err(AtmWithdrawalError::AlreadyDispensed),
            Some(WithdrawalStatus::Authorized) => Ok(vec![CashDispensed {
                withdrawal_id: command.withdrawal_id,
                amount: self.amount,
            }]),
        }
    }

    fn apply_withdrawal_initiated(&mut self, event: &WithdrawalInitiated) {
        self.withdrawal_id = event.withdrawal_id;
        self.account_number = event.account_number.clone();
        self.amount = event.amount;
        self.status = Some(WithdrawalStatus::Initiated);
    }

    fn apply_authorization_confirmed(&mut self, _event: &AuthorizationConfirmed) {
        self.status = Some(WithdrawalStatus::Authorized);
    }

    fn apply_pin_rejected(&mut self, event: &PinRejected) {
        self.failed_pin_attempts = event.attempts;
    }

    fn apply_cash_dispensed(&mut self, _event: &CashDispensed) {
        self.status = Some(WithdrawalStatus::Dispensed);
    }
}
